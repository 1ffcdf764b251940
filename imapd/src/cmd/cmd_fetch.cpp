// FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; RFC 3516 BINARY; RFC 7162 §3.1.4
// CHANGEDSINCE and §3.2.6 VANISHED).
#include "cmd/commands.hpp"
#include "cmd/fetch_items.hpp"
#include "cmd/util.hpp"
#include "message_content.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/log.hpp"

namespace tern::imapd {

namespace {

// Output is sent in pieces of about this size, so a FETCH of many or large messages
// never holds all of it.
constexpr std::size_t kFlushAt = 256 * 1024;

bool needs_content(const imap::FetchAtt& a) {
  using K = imap::FetchAtt::Kind;
  return a.kind == K::Envelope || a.kind == K::BodyStructure || a.kind == K::Body ||
         a.kind == K::BodySection || a.kind == K::Rfc822 || a.kind == K::Rfc822Header ||
         a.kind == K::Rfc822Text || a.kind == K::Binary || a.kind == K::BinarySize;
}

bool sets_seen(const imap::FetchAtt& a) {
  using K = imap::FetchAtt::Kind;
  return (a.kind == K::BodySection && !a.peek) || (a.kind == K::Binary && !a.peek) ||
         a.kind == K::Rfc822 || a.kind == K::Rfc822Text;
}

std::string_view partial(std::string_view bytes, const imap::FetchAtt& a) {
  if (!a.partial_offset) return bytes;
  if (*a.partial_offset >= bytes.size()) return {};
  return bytes.substr(static_cast<std::size_t>(*a.partial_offset),
                      static_cast<std::size_t>(*a.partial_length));
}

// <o.n> applied to the message range [b, e): the octets to send.
std::pair<std::uint64_t, std::uint64_t> partial_range(std::uint64_t b, std::uint64_t e, const imap::FetchAtt& a) {
  if (!a.partial_offset) return {b, e};
  std::uint64_t o = *a.partial_offset;
  if (o >= e - b) return {e, e};
  std::uint64_t len = std::min<std::uint64_t>(*a.partial_length, e - b - o);
  return {b + o, b + o + len};
}

// Ranges up to this size are read into the response line; larger ones are read and
// sent in pieces of this size (a 50 MiB BODY[] never sits in memory whole).
constexpr std::uint64_t kPiece = 256 * 1024;

// Appends the literal of the message octets [b, e) (read by range, Store::
// read_message_range). literal8: "~{n}" (BINARY). false on a write error.
asio::awaitable<bool> emit_range(Session& s, std::string& out, const MessageContent& mc, std::uint64_t b,
                                 std::uint64_t e, bool literal8, bool& streamed) {
  const std::uint64_t n = e - b;
  imap::append_literal_header(out, n, literal8);
  if (n <= kPiece) {
    std::size_t at = out.size();
    mc.read_range(b, n, out);
    // The message vanished under us (expunged elsewhere): the octets promised are
    // still sent, as spaces, so the client stays in step.
    out.resize(at + static_cast<std::size_t>(n), ' ');
    co_return true;
  }
  s.write(out);
  out.clear();
  streamed = true;
  std::string piece;
  for (std::uint64_t off = b; off < e; off += kPiece) {
    const std::uint64_t len = std::min(kPiece, e - off);
    piece.clear();
    mc.read_range(off, len, piece);
    piece.resize(static_cast<std::size_t>(len), ' ');
    s.write(piece);
    if (!(co_await s.flush())) co_return false;
  }
  co_return true;
}

// Does any octet of [b, e) hold NUL (BINARY needs literal8 then)? Reads by pieces.
bool range_has_nul(const MessageContent& mc, std::uint64_t b, std::uint64_t e) {
  std::string piece;
  for (std::uint64_t off = b; off < e; off += kPiece) {
    piece.clear();
    mc.read_range(off, std::min(kPiece, e - off), piece);
    if (piece.find('\0') != std::string::npos) return true;
  }
  return false;
}

// Writes the parsed structures the command queued (one commit) once they add up.
constexpr std::size_t kCacheFlushBytes = 4u << 20;

// FETCH of view items only (fetch_items.hpp): the lines go out in pieces of kFlushAt.
// false on a write error.
asio::awaitable<bool> send_fetch_items(Session& s, const std::vector<std::size_t>& idx, const FetchItemsPlan& plan) {
  std::string out;
  out.reserve(kFlushAt + 4096);
  for (std::size_t i : idx) {
    if (!s.mailbox) break;
    append_fetch_items(out, *s.mailbox, i, plan);
    if (out.size() >= kFlushAt) {
      s.write(out);
      out.clear();
      bool ok = co_await s.flush();
      if (!ok) co_return false;
    }
  }
  s.write(out);
  co_return true;
}

}  // namespace

asio::awaitable<void> cmd_fetch(Session& s, imap::Command& c) {
  imap::SequenceSet set;
  if (c.args.size() < 2 || !c.args[0].is_atom() ||
      !imap::parse_sequence_set(c.args[0].text, s.svc().sequence_ranges(), set)) {
    s.bad(c, "FETCH needs a sequence set and attributes");
    co_return;
  }
  imap::FetchRequest req;
  std::string err;
  if (!imap::parse_fetch(c.args, 1, req, err)) {
    s.bad(c, err);
    co_return;
  }
  using K = imap::FetchAtt::Kind;
  if (req.vanished && (!s.cmd_uid || !s.qresync)) {
    s.bad(c, "VANISHED needs UID FETCH and QRESYNC");
    co_return;
  }
  bool want_modseq = req.changedsince;
  bool content = false, seen = false;
  for (const auto& a : req.atts) {
    if (a.kind == K::ModSeq) want_modseq = true;
    content |= needs_content(a);
    seen |= sets_seen(a);
  }
  if (want_modseq) s.enable_condstore();  // RFC 7162 §3.1: enables CONDSTORE
  MailboxView& v = *s.mailbox;
  if (v.readonly) seen = false;
  std::vector<std::size_t> idx = v.select(set, s.cmd_uid);
  if (!s.cmd_uid && !set.ranges.empty() && idx.empty()) {
    // RFC 9051 §6.4.5: a non-UID FETCH of a number not in use is an error.
    bool star_only = true;
    for (const auto& r : set.ranges) star_only &= r.first == 0 || r.last == 0;
    if (!(star_only && v.exists() == 0)) {
      s.bad(c, "Invalid message sequence number");
      co_return;
    }
  }
  if (req.changedsince) {
    std::vector<std::size_t> keep;
    for (std::size_t i : idx)
      if (v.msgs[i].modseq > req.changedsince_modseq) keep.push_back(i);
    idx.swap(keep);
  }
  if (req.vanished) {
    auto gone = s.store().vanished_since(v.info.id, req.changedsince_modseq);
    if (gone) {
      auto ranges = set.resolve(v.max_uid() ? v.max_uid() : 0xffffffffu);
      std::vector<store::Uid> list;
      for (store::Uid u : *gone)
        if (imap::in_ranges(ranges, u)) list.push_back(u);
      if (!list.empty()) s.untagged("VANISHED (EARLIER) " + uid_set_text(list));
    }
  }

  FetchItemsPlan plan;
  if (!content && !seen && plan_fetch_items(req, s.cmd_uid, want_modseq, plan)) {
    // FLAGS, UID, MODSEQ, RFC822.SIZE only: nothing to read (the resync of every client).
    bool ok = co_await send_fetch_items(s, idx, plan);
    if (!ok) {
      s.close("write error");
      co_return;
    }
    s.sync_mailbox(s.cmd_uid);
    s.ok(c, s.cmd_uid ? "UID FETCH completed" : "FETCH completed");
    co_return;
  }

  // \Seen first (RFC 9051 §6.4.5: BODY[] sets \Seen), so FLAGS below show it.
  std::vector<bool> flag_changed(v.msgs.size(), false);
  if (seen) {
    std::vector<store::Uid> uids;
    for (std::size_t i : idx)
      if (!(v.msgs[i].flags & store::kSeen) && !v.msgs[i].expunged) uids.push_back(v.msgs[i].uid);
    if (!uids.empty()) {
      store::UidSet us = to_uid_set(uids);
      store::FlagUpdate up;
      up.op = store::FlagUpdate::Op::add;
      up.flags = store::kSeen;
      store::Store* st = &s.store();
      store::MailboxId id = v.info.id;
      const store::UidSet* pus = &us;
      const store::FlagUpdate* pup = &up;
      auto job = [st, id, pus, pup]() { return st->set_flags(id, *pus, *pup); };
      auto r = co_await s.conn().run_blocking(std::move(job));
      if (r) {
        MailboxView& v2 = *s.mailbox;
        for (const auto& rec : r->changed) {
          v2.apply(rec);
          std::uint32_t seq = v2.seq_of_uid(rec.uid);
          if (seq) flag_changed[seq - 1] = true;
        }
      }
    }
  }

  bool expunge_issue = false;
  // Reused for every message (FETCH 1:* FLAGS of a 100,000-message mailbox makes no
  // allocation per message).
  std::string out, kws;
  for (std::size_t i : idx) {
    if (!s.mailbox) break;
    const ViewMsg m = s.mailbox->msgs[i];
    kws.assign(s.mailbox->keywords_of(m));
    std::optional<MessageContent> mc;
    if (content) {
      // Nothing is read yet: each item below reads what it needs (a range, the header,
      // the cached structure).
      if (!m.expunged) mc = MessageContent::load(s.store(), s.mailbox->info.id, m.uid, &s.mime_cache);
      if (!mc) {
        // RFC 2180 §4.1.2: the message went away under this session.
        expunge_issue = true;
        continue;
      }
    }
    out.clear();
    out += "* ";
    append_number(out, i + 1);
    out += " FETCH (";
    bool first = true;
    auto item = [&](std::string_view name) {
      if (!first) out += ' ';
      first = false;
      out += name;
    };
    bool has_uid = false, has_flags = false, has_modseq = false;
    bool streamed = false;  // part of this message's answer was sent already
    std::string cte_fail;
    for (const auto& a : req.atts) {
      switch (a.kind) {
        case K::Flags:
          if (has_flags) break;
          has_flags = true;
          item("FLAGS ");
          append_flag_list(out, m.flags, kws, m.recent);
          break;
        case K::Uid:
          if (has_uid) break;
          has_uid = true;
          item("UID ");
          append_number(out, m.uid);
          break;
        case K::InternalDate:
          item("INTERNALDATE " + imap::format_date_time(m.internal_date));
          break;
        case K::Rfc822Size:
          item("RFC822.SIZE ");
          append_number(out, m.size);
          break;
        case K::ModSeq:
          if (has_modseq) break;
          has_modseq = true;
          item("MODSEQ (");
          append_number(out, m.modseq);
          out += ')';
          break;
        case K::SaveDate:
          item("SAVEDATE " + imap::format_date_time(m.internal_date));
          break;
        case K::Envelope:
          item("ENVELOPE ");
          out += mc->envelope();
          break;
        case K::BodyStructure:
          item("BODYSTRUCTURE ");
          out += mc->body_structure(true);
          break;
        case K::Body:
          item("BODY ");
          out += mc->body_structure(false);
          break;
        case K::Rfc822:
          item("RFC822 ");
          if (!(co_await emit_range(s, out, *mc, 0, mc->size(), false, streamed))) {
            s.close("write error");
            co_return;
          }
          break;
        case K::Rfc822Header:
        case K::Rfc822Text:
        case K::BodySection: {
          imap::Section sec = a.section;
          if (a.kind != K::BodySection) {
            sec = imap::Section{};
            sec.spec = a.kind == K::Rfc822Header ? imap::Section::Spec::Header : imap::Section::Spec::Text;
          }
          item(a.kind == K::Rfc822Header ? "RFC822.HEADER "
               : a.kind == K::Rfc822Text ? "RFC822.TEXT "
                                         : imap::fetch_att_name(a) + " ");
          bool exists = true;
          if (auto r = mc->section_range(sec, exists)) {
            // One range of the message: read only the octets sent (BODY[]<0.100> of a
            // 20 MiB message reads one chunk).
            auto [b, e] = a.kind == K::BodySection ? partial_range(r->first, r->second, a) : *r;
            if (!(co_await emit_range(s, out, *mc, b, e, false, streamed))) {
              s.close("write error");
              co_return;
            }
          } else {
            auto bytes = exists ? mc->section(sec) : std::nullopt;
            imap::append_literal(out, a.kind == K::BodySection ? partial(bytes.value_or(""), a)
                                                               : std::string_view(bytes.value_or("")));
          }
          break;
        }
        case K::Binary:
        case K::BinarySize: {
          if (a.section.part.empty()) {
            // BINARY[] is the message unchanged (RFC 3516 §4.2): by range, like BODY[].
            item(imap::fetch_att_name(a) + " ");
            if (a.kind == K::BinarySize) {
              out += std::to_string(mc->size());
            } else {
              auto [b, e] = partial_range(0, mc->size(), a);
              if (!(co_await emit_range(s, out, *mc, b, e, range_has_nul(*mc, b, e), streamed))) {
                s.close("write error");
                co_return;
              }
            }
            break;
          }
          std::string cte_err;
          auto bytes = mc->binary(a.section.part, cte_err);
          if (!bytes && !cte_err.empty()) {
            cte_fail = cte_err;
            break;
          }
          item(imap::fetch_att_name(a) + " ");
          if (a.kind == K::BinarySize) {
            out += std::to_string(bytes ? bytes->size() : 0);
          } else {
            const std::string whole = bytes.value_or("");
            std::string_view b = partial(whole, a);
            bool nul = b.find('\0') != std::string_view::npos;
            imap::append_literal(out, b, nul);
          }
          break;
        }
        case K::EmailId:
        case K::ThreadId:
          break;
      }
      // One message's answer can be large (BODY[] asked for many times): it goes out
      // in pieces too, so memory stays one item plus kFlushAt whatever was asked.
      if (out.size() > kFlushAt) {
        s.write(out);
        out.clear();
        streamed = true;
        bool ok = co_await s.flush();
        if (!ok) {
          s.close("write error");
          co_return;
        }
      }
      if (!cte_fail.empty()) break;
    }
    if (!cte_fail.empty()) {
      if (streamed) {
        // Part of this message's answer went out already: close it before the NO.
        out += ")\r\n";
        s.write(out);
      }
      // RFC 3516 §4.3: an encoding we cannot decode fails the command.
      s.no(c, "[" + cte_fail + "] Unknown content-transfer-encoding");
      co_return;
    }
    // RFC 9051 §6.4.8: UID FETCH answers carry UID; a \Seen change carries FLAGS
    // (§6.4.5); CHANGEDSINCE answers carry MODSEQ (RFC 7162 §3.1.4.1).
    if (s.cmd_uid && !has_uid) {
      item("UID ");
      append_number(out, m.uid);
    }
    if (flag_changed[i] && !has_flags) {
      item("FLAGS ");
      append_flag_list(out, m.flags, kws, m.recent);
    }
    if (want_modseq && !has_modseq) {
      item("MODSEQ (");
      append_number(out, m.modseq);
      out += ')';
    }
    out += ")\r\n";
    s.write(out);
    if (s.mime_cache.pending_bytes > kCacheFlushBytes) co_await s.write_mime_cache();
    if (s.pending_output() > kFlushAt) {
      bool ok = co_await s.flush();
      if (!ok) {
        s.close("write error");
        co_return;
      }
    }
  }
  s.sync_mailbox(s.cmd_uid);
  // RFC 5530 EXPUNGEISSUED: another session expunged some of the messages; what is
  // still there was sent (RFC 2180 §4.1.3: the rest is omitted, the command succeeds).
  if (expunge_issue) s.ok(c, "[EXPUNGEISSUED] Some messages were expunged");
  else s.ok(c, s.cmd_uid ? "UID FETCH completed" : "FETCH completed");
}

}  // namespace tern::imapd
