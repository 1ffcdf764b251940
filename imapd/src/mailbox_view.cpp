#include "mailbox_view.hpp"

#include "view_cache.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tern::imapd {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// A view of an owned record (valid while it lives).
store::MessageMeta meta_of(const store::MessageRecord& r) {
  return {r.uid, r.modseq, r.flags, r.keywords, r.size, r.internal_date, r.blob};
}

}  // namespace

void append_number(std::string& out, std::uint64_t n) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_flag_list(std::string& out, std::uint32_t flags, std::string_view keywords, bool recent) {
  out += '(';
  const std::size_t start = out.size();
  auto add = [&](std::string_view f) {
    if (out.size() > start) out += ' ';
    out += f;
  };
  if (flags & store::kSeen) add("\\Seen");
  if (flags & store::kAnswered) add("\\Answered");
  if (flags & store::kFlagged) add("\\Flagged");
  if (flags & store::kDeleted) add("\\Deleted");
  if (flags & store::kDraft) add("\\Draft");
  if (recent) add("\\Recent");
  if (!keywords.empty()) add(keywords);
  out += ')';
}

std::string flag_list(std::uint32_t flags, std::string_view keywords, bool recent) {
  std::string r;
  append_flag_list(r, flags, keywords, recent);
  return r;
}

std::uint32_t MailboxView::intern(std::string_view list, bool& fresh) {
  if (list.empty()) return 0;
  auto it = kwindex_.find(std::string(list));
  if (it != kwindex_.end()) return it->second;
  if (learn_keywords(list)) fresh = true;
  auto id = static_cast<std::uint32_t>(kwlists_.size());
  kwlists_.emplace_back(list);
  kwindex_.emplace(std::string(list), id);
  return id;
}

ViewMsg MailboxView::from_meta(const store::MessageMeta& m, bool& fresh) {
  ViewMsg v;
  v.uid = m.uid;
  v.modseq = m.modseq;
  v.flags = m.flags;
  v.kw = intern(m.keywords, fresh);
  v.size = m.size;
  v.internal_date = m.internal_date;
  v.blob = m.blob;
  return v;
}

bool MailboxView::learn_keywords(std::string_view kws) {
  bool added = false;
  while (!kws.empty()) {
    std::size_t sp = kws.find(' ');
    std::string_view k = kws.substr(0, sp);
    if (!k.empty()) {
      bool known = false;
      for (const auto& x : keywords)
        if (ieq(x, k)) known = true;
      if (!known) {
        keywords.emplace_back(k);
        added = true;
      }
    }
    if (sp == std::string_view::npos) break;
    kws.remove_prefix(sp + 1);
  }
  return added;
}

std::string MailboxView::flags_responses() const {
  std::string kw;
  for (const auto& k : keywords) kw += " " + k;
  std::string r = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")\r\n";
  if (readonly) {
    r += "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n";
  } else {
    r += "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw +
         " \\*)] Flags permitted\r\n";
  }
  return r;
}

bool MailboxView::starts_recent(store::Uid uid, store::Uid first_unclaimed) const {
  if (!track_recent) return false;
  if (readonly) return uid >= first_unclaimed;
  for (const auto& [first, end] : claimed)
    if (uid >= first && uid < end) return true;
  return false;
}

std::size_t MailboxView::add_claim(store::Uid first, store::Uid end) {
  if (!track_recent || first >= end) return 0;
  claimed.emplace_back(first, end);
  // Claims only grow upwards; ranges wholly below every message still in the view can
  // never match again.
  if (!msgs.empty()) {
    store::Uid low = msgs.front().uid;
    std::erase_if(claimed, [low](const auto& r) { return r.second <= low; });
  }
  std::size_t marked = 0;
  auto it = std::lower_bound(msgs.begin(), msgs.end(), first,
                             [](const ViewMsg& m, store::Uid u) { return m.uid < u; });
  for (; it != msgs.end() && it->uid < end; ++it)
    if (!it->recent && !it->expunged) {
      it->recent = true;
      ++marked;
    }
  return marked;
}

std::uint32_t MailboxView::recent_count() const {
  std::uint32_t n = 0;
  // Counted like EXISTS: messages expunged but not yet reported still count.
  for (const auto& m : msgs) n += m.recent ? 1 : 0;
  return n;
}

void MailboxView::mark_recent() {
  if (!track_recent || msgs.empty()) return;
  auto from = [this](store::Uid u) {
    return std::lower_bound(msgs.begin(), msgs.end(), u, [](const ViewMsg& m, store::Uid x) { return m.uid < x; });
  };
  if (readonly) {
    for (auto it = from(info.first_recent_uid); it != msgs.end(); ++it) it->recent = true;
    return;
  }
  for (const auto& [first, end] : claimed)
    for (auto it = from(first); it != msgs.end() && it->uid < end; ++it) it->recent = true;
}

store::Result<void> MailboxView::load(store::Store& s, const store::MailboxInfo& mb, ViewCache* cache) {
  pending_expunged_ = 0;
  if (cache) {
    if (auto snap = cache->find(mb.id); snap && snap->uidvalidity == mb.uidvalidity) {
      // What changed since the snapshot, and the mailbox's counters, from ONE read txn.
      auto ch = s.changes_since(mb.id, snap->highestmodseq);
      if (!ch) return tern::store::Result<void>(ch.error());
      if (ch->info.uidvalidity == snap->uidvalidity && restore(*snap, *ch)) {
        info = std::move(ch->info);
        highestmodseq = info.highestmodseq;
        uidnext = std::max(info.uidnext, max_uid() + 1);
        if (highestmodseq != snap->highestmodseq) cache->put(snapshot());
        mark_recent();
        return {};
      }
      cache->erase(mb.id);
    }
  }
  msgs.clear();
  keywords.clear();
  kwlists_.assign(1, std::string());
  kwindex_.clear();
  // Exactly what is there: +64 spare entries cost every idle session 3 KiB (10,000 IDLE
  // sessions: 30 MB); a later delivery grows the array as push_back does.
  msgs.reserve(static_cast<std::size_t>(mb.messages));
  bool fresh = false;
  // The messages and the mailbox's counters from ONE read txn: highestmodseq then
  // covers exactly what is in msgs, and sync() asks only for what changed after it.
  auto now = s.read_mailbox(mb.id, {}, [&](const store::MessageMeta& m) {
    msgs.push_back(from_meta(m, fresh));
    return true;
  });
  if (!now) return tern::store::Result<void>(now.error());
  info = std::move(*now);
  highestmodseq = info.highestmodseq;
  uidnext = std::max(info.uidnext, max_uid() + 1);
  if (cache && cache->worth_caching(msgs.size())) cache->put(snapshot());
  mark_recent();
  return {};
}

void MailboxView::mark_expunged(store::Uid uid) {
  std::uint32_t seq = seq_of_uid(uid);
  if (seq == 0 || msgs[seq - 1].expunged) return;
  msgs[seq - 1].expunged = true;
  ++pending_expunged_;
}

void MailboxView::report_expunged(std::string& out, bool qresync) {
  if (pending_expunged_ == 0) return;
  if (qresync) {
    std::string set;
    for (const auto& m : msgs) {
      if (!m.expunged) continue;
      if (!set.empty()) set += ',';
      append_number(set, m.uid);
    }
    out += "* VANISHED " + set + "\r\n";
  } else {
    // Highest first: each number stays valid for the client as the lower ones shift.
    for (std::size_t i = msgs.size(); i-- > 0;)
      if (msgs[i].expunged) {
        out += "* ";
        append_number(out, i + 1);
        out += " EXPUNGE\r\n";
      }
  }
  msgs.erase(std::remove_if(msgs.begin(), msgs.end(), [](const ViewMsg& m) { return m.expunged; }),
             msgs.end());
  pending_expunged_ = 0;
}

store::Result<void> MailboxView::sync(store::Store& s, std::string& out, const SyncOptions& o) {
  // Only what changed since the view's HIGHESTMODSEQ (the store's MODSEQ index): a NOOP
  // or an IDLE wakeup costs O(changes), not O(messages).
  auto ch = s.changes_since(info.id, highestmodseq);
  if (!ch) return tern::store::Result<void>(ch.error());
  bool new_keywords = false;
  std::vector<std::size_t> flag_changes;
  const std::size_t before = msgs.size();
  const store::Uid max = max_uid();
  for (const auto& rec : ch->changed) {  // ascending UID: the new ones come last
    if (rec.uid > max) {
      ViewMsg v = from_meta(meta_of(rec), new_keywords);
      v.recent = starts_recent(rec.uid, ch->info.first_recent_uid);
      msgs.push_back(v);
      continue;
    }
    std::uint32_t seq = seq_of_uid(rec.uid);
    if (seq == 0) continue;
    ViewMsg& v = msgs[seq - 1];
    if (v.expunged || v.modseq == rec.modseq) continue;  // applied already (this session's STORE)
    std::uint32_t kw = intern(rec.keywords, new_keywords);
    if (rec.flags != v.flags || kw != v.kw) flag_changes.push_back(seq - 1);
    v.flags = rec.flags;
    v.kw = kw;
    v.modseq = rec.modseq;
  }
  for (store::Uid u : ch->vanished) mark_expunged(u);
  if (new_keywords) out += flags_responses();
  for (std::size_t i : flag_changes) {
    const ViewMsg& v = msgs[i];
    if (v.expunged) continue;
    // RFC 9051 §7.5.2: an unsolicited FETCH carries UID for IMAP4rev2 clients too;
    // we always add it (harmless for IMAP4rev1, required by QRESYNC §3.2.4).
    out += "* ";
    append_number(out, i + 1);
    out += " FETCH (UID ";
    append_number(out, v.uid);
    out += " FLAGS ";
    append_flag_list(out, v.flags, keywords_of(v), v.recent);
    if (o.condstore) {
      out += " MODSEQ (";
      append_number(out, v.modseq);
      out += ')';
    }
    out += ")\r\n";
  }
  highestmodseq = std::max(highestmodseq, ch->info.highestmodseq);
  uidnext = std::max(ch->info.uidnext, max_uid() + 1);
  const bool added = msgs.size() > before;
  if (o.allow_expunge) report_expunged(out, o.qresync);
  if (added) {
    out += "* ";
    append_number(out, msgs.size());
    out += " EXISTS\r\n";
    // RFC 3501 §7.3.2: RECENT goes with a changed mailbox size.
    if (track_recent) {
      out += "* ";
      append_number(out, recent_count());
      out += " RECENT\r\n";
    }
  }
  return {};
}

std::uint32_t MailboxView::seq_of_uid(store::Uid uid) const {
  auto it = std::lower_bound(msgs.begin(), msgs.end(), uid,
                             [](const ViewMsg& m, store::Uid u) { return m.uid < u; });
  if (it == msgs.end() || it->uid != uid) return 0;
  return static_cast<std::uint32_t>(it - msgs.begin() + 1);
}

std::vector<std::size_t> MailboxView::select(const imap::SequenceSet& set, bool by_uid) const {
  std::vector<std::size_t> r;
  if (msgs.empty()) return r;
  if (!by_uid) {
    auto ranges = set.resolve(exists());
    for (const auto& x : ranges) {
      if (x.first > exists()) break;
      std::uint32_t last = std::min(x.last, exists());
      for (std::uint32_t n = x.first; n <= last; ++n) r.push_back(n - 1);
    }
    return r;
  }
  // UID "*" is the largest UID in use (RFC 9051 §6.4.8), and n:* with n beyond it
  // still names that message.
  auto ranges = set.resolve(max_uid());
  for (const auto& x : ranges) {
    auto it = std::lower_bound(msgs.begin(), msgs.end(), x.first,
                               [](const ViewMsg& m, store::Uid u) { return m.uid < u; });
    for (; it != msgs.end() && it->uid <= x.last; ++it)
      r.push_back(static_cast<std::size_t>(it - msgs.begin()));
  }
  return r;
}

void MailboxView::apply(const store::MessageRecord& rec) {
  std::uint32_t seq = seq_of_uid(rec.uid);
  if (seq == 0) return;
  ViewMsg& v = msgs[seq - 1];
  bool fresh = false;
  v.flags = rec.flags;
  v.kw = intern(rec.keywords, fresh);
  v.modseq = rec.modseq;
}

}  // namespace tern::imapd
