// SELECT, EXAMINE (RFC 9051 §6.3.2, §6.3.3; RFC 7162 §3.1.8 CONDSTORE parameter,
// §3.2.5 QRESYNC parameter), CLOSE (§6.4.1) and UNSELECT (RFC 3691).
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/log.hpp"
#include "view_cache.hpp"

namespace tern::imapd {

namespace {

struct QresyncParams {
  std::uint32_t uidvalidity = 0;
  std::uint64_t modseq = 0;
  imap::SequenceSet known_uids;
  bool have_known = false;
};

bool parse_qresync(Session& s, const imap::Arg& a, QresyncParams& q) {
  // (uidvalidity mod-sequence [known-uids [(seq-match-data)]])
  if (!a.is_list() || a.list.size() < 2 || a.list.size() > 4) return false;
  std::uint64_t v;
  if (!parse_u64(a.list[0], v) || v == 0 || v > 0xffffffffull) return false;
  q.uidvalidity = static_cast<std::uint32_t>(v);
  if (!parse_u64(a.list[1], q.modseq)) return false;
  if (a.list.size() >= 3) {
    if (!a.list[2].is_atom() ||
        !imap::parse_sequence_set(a.list[2].text, s.svc().sequence_ranges(), q.known_uids))
      return false;
    q.have_known = true;
  }
  return true;
}

}  // namespace

asio::awaitable<void> cmd_select(Session& s, imap::Command& c) {
  const bool examine = c.name == "EXAMINE";
  if (c.args.empty() || c.args.size() > 2 || !c.args[0].is_astring()) {
    s.bad(c, "SELECT needs a mailbox name");
    co_return;
  }
  bool condstore = false;
  std::optional<QresyncParams> qr;
  if (c.args.size() == 2) {
    const imap::Arg& p = c.args[1];
    if (!p.is_list()) {
      s.bad(c, "bad SELECT parameters");
      co_return;
    }
    for (std::size_t i = 0; i < p.list.size(); ++i) {
      if (p.list[i].is("CONDSTORE")) {
        condstore = true;
      } else if (p.list[i].is("QRESYNC") && i + 1 < p.list.size()) {
        if (!s.qresync) {
          // RFC 7162 §3.2.5: QRESYNC must be ENABLEd first.
          s.bad(c, "QRESYNC is not enabled");
          co_return;
        }
        QresyncParams q;
        if (!parse_qresync(s, p.list[i + 1], q)) {
          s.bad(c, "bad QRESYNC parameter");
          co_return;
        }
        qr = q;
        ++i;
      } else {
        s.bad(c, "unknown SELECT parameter");
        co_return;
      }
    }
  }
  const bool was_selected = s.state() == State::Selected;
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
  s.enter_state(State::Authenticated);
  if (was_selected) s.untagged("OK [CLOSED] Previous mailbox closed");
  std::string name = mailbox_name(c.args[0]);
  auto mb = s.store().get_mailbox(s.account, name);
  if (!mb) {
    store_no(s, c, mb.error(), "No such mailbox");
    co_return;
  }
  MailboxView v;
  v.readonly = examine;
  v.track_recent = !s.rev2;
  if (!examine && v.track_recent) {
    // RFC 3501 §2.3.2: this session is the first to see what nobody has claimed yet;
    // EXAMINE shows the same messages \Recent without taking them.
    store::Store* st = &s.store();
    store::MailboxId id = mb->id;
    auto job = [st, id]() { return st->claim_recent(id); };
    auto claim = co_await s.conn().run_blocking(std::move(job));
    if (!claim) {
      store_no(s, c, claim.error(), "Cannot open mailbox");
      co_return;
    }
    v.add_claim(claim->first, claim->end);
  }
  auto r = v.load(s.store(), *mb, &s.svc().view_cache());
  if (!r) {
    store_no(s, c, r.error(), "Cannot open mailbox");
    co_return;
  }
  if (condstore) s.condstore = true;
  std::string out = v.flags_responses();
  out += "* " + std::to_string(v.exists()) + " EXISTS\r\n";
  if (!s.rev2) {
    out += "* " + std::to_string(v.recent_count()) + " RECENT\r\n";
    for (std::size_t i = 0; i < v.msgs.size(); ++i)
      if (!(v.msgs[i].flags & store::kSeen)) {
        out += "* OK [UNSEEN " + std::to_string(i + 1) + "] First unseen\r\n";
        break;
      }
  }
  out += "* OK [UIDVALIDITY " + std::to_string(v.info.uidvalidity) + "] UIDs valid\r\n";
  out += "* OK [UIDNEXT " + std::to_string(v.uidnext) + "] Predicted next UID\r\n";
  out += "* OK [HIGHESTMODSEQ " + std::to_string(v.highestmodseq) + "] Highest\r\n";
  if (s.rev2) {
    out += "* LIST () \"/\" ";
    imap::append_astring(out, v.info.name, s.utf8);
    out += "\r\n";
  }
  if (qr && qr->uidvalidity == v.info.uidvalidity) {
    // RFC 7162 §3.2.5.1: the expunges and flag changes since the client's modseq.
    auto gone = s.store().vanished_since(v.info.id, qr->modseq);
    if (gone && !gone->empty()) {
      std::vector<imap::SeqRange> known;
      if (qr->have_known) known = qr->known_uids.resolve(v.max_uid() ? v.max_uid() : 1);
      std::vector<store::Uid> list;
      for (store::Uid u : *gone)
        if (!qr->have_known || imap::in_ranges(known, u)) list.push_back(u);
      if (!list.empty()) out += "* VANISHED (EARLIER) " + uid_set_text(list) + "\r\n";
    }
    for (std::size_t i = 0; i < v.msgs.size(); ++i) {
      const ViewMsg& m = v.msgs[i];
      if (m.modseq <= qr->modseq) continue;
      out += "* " + std::to_string(i + 1) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
             flag_list(m.flags, v.keywords_of(m), m.recent) + " MODSEQ (" + std::to_string(m.modseq) + "))\r\n";
    }
  }
  s.write(out);
  s.mailbox = std::move(v);
  s.enter_state(State::Selected);
  s.ok(c, examine ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

asio::awaitable<void> cmd_close(Session& s, imap::Command& c) {
  if (!c.args.empty()) {
    s.bad(c, "no arguments expected");
    co_return;
  }
  if (c.name == "CLOSE" && s.mailbox && !s.mailbox->readonly) {
    // RFC 9051 §6.4.1: CLOSE silently expunges \Deleted messages (no EXPUNGE sent).
    store::Store* st = &s.store();
    store::MailboxId id = s.mailbox->info.id;
    std::vector<store::Uid> uids;
    for (const auto& m : s.mailbox->msgs)
      if ((m.flags & store::kDeleted) && !m.expunged) uids.push_back(m.uid);
    if (!uids.empty()) {
      store::UidSet set = to_uid_set(uids);
      const store::UidSet* pset = &set;
      auto job = [st, id, pset]() {
        return st->expunge(id, std::optional<store::UidSet>(*pset), true);
      };
      auto r = co_await s.conn().run_blocking(std::move(job));
      if (!r) log::warn(s.id(), "imap CLOSE expunge failed: {}", r.error().message());
    }
  }
  s.enter_state(State::Authenticated);
  s.ok(c, c.name == "CLOSE" ? "CLOSE completed" : "UNSELECT completed");
}

}  // namespace tern::imapd
