#include "mailbox_view.hpp"

#include <algorithm>
#include <cctype>

namespace tern::imapd {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

ViewMsg from_meta(const store::MessageMeta& m) {
  ViewMsg v;
  v.uid = m.uid;
  v.modseq = m.modseq;
  v.flags = m.flags;
  v.keywords.assign(m.keywords);
  v.size = m.size;
  v.internal_date = m.internal_date;
  v.blob = m.blob;
  return v;
}

}  // namespace

std::string flag_list(std::uint32_t flags, std::string_view keywords, bool recent) {
  std::string r = "(";
  auto add = [&](std::string_view f) {
    if (r.size() > 1) r += ' ';
    r += f;
  };
  if (flags & store::kSeen) add("\\Seen");
  if (flags & store::kAnswered) add("\\Answered");
  if (flags & store::kFlagged) add("\\Flagged");
  if (flags & store::kDeleted) add("\\Deleted");
  if (flags & store::kDraft) add("\\Draft");
  if (recent) add("\\Recent");
  if (!keywords.empty()) add(keywords);
  r += ')';
  return r;
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

store::Result<void> MailboxView::load(store::Store& s, const store::MailboxInfo& mb) {
  info = mb;
  msgs.clear();
  keywords.clear();
  auto r = s.for_each_message(mb.id, {}, [&](const store::MessageMeta& m) {
    msgs.push_back(from_meta(m));
    msgs.back().recent = starts_recent(m.uid, mb.first_recent_uid);
    if (!m.keywords.empty()) learn_keywords(m.keywords);
    return true;
  });
  if (!r) return r;
  // Read the counters after the messages: a delivery in between then shows up at
  // the next sync instead of being missed.
  auto again = s.get_mailbox(mb.id);
  if (!again) return tern::store::Result<void>(again.error());
  highestmodseq = std::max(mb.highestmodseq, again->highestmodseq);
  uidnext = std::max(mb.uidnext, max_uid() + 1);
  for (const auto& m : msgs) highestmodseq = std::max(highestmodseq, m.modseq);
  return {};
}

void MailboxView::report_expunged(std::string& out, bool qresync) {
  if (std::none_of(msgs.begin(), msgs.end(), [](const ViewMsg& m) { return m.expunged; })) return;
  if (qresync) {
    std::string set;
    for (const auto& m : msgs) {
      if (!m.expunged) continue;
      if (!set.empty()) set += ',';
      set += std::to_string(m.uid);
    }
    out += "* VANISHED " + set + "\r\n";
  } else {
    // Highest first: each number stays valid for the client as the lower ones shift.
    for (std::size_t i = msgs.size(); i-- > 0;)
      if (msgs[i].expunged) out += "* " + std::to_string(i + 1) + " EXPUNGE\r\n";
  }
  msgs.erase(std::remove_if(msgs.begin(), msgs.end(), [](const ViewMsg& m) { return m.expunged; }),
             msgs.end());
}

store::Result<void> MailboxView::sync(store::Store& s, std::string& out, const SyncOptions& o) {
  auto mb = s.get_mailbox(info.id);
  if (!mb) return tern::store::Result<void>(mb.error());
  std::size_t live = 0;
  for (const auto& m : msgs) live += m.expunged ? 0 : 1;
  const bool changed =
      mb->highestmodseq != highestmodseq || mb->uidnext != uidnext || mb->messages != live;
  if (changed) {
    std::vector<ViewMsg> now;
    now.reserve(mb->messages + 16);
    auto r = s.for_each_message(info.id, {}, [&](const store::MessageMeta& m) {
      now.push_back(from_meta(m));
      return true;
    });
    if (!r) return r;
    // Merge by UID (both ascending).
    std::size_t j = 0;
    std::vector<std::size_t> flag_changes;
    bool new_keywords = false;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
      ViewMsg& v = msgs[i];
      while (j < now.size() && now[j].uid < v.uid) ++j;  // cannot happen: new UIDs are larger
      if (j < now.size() && now[j].uid == v.uid) {
        if (now[j].modseq != v.modseq) {
          if (now[j].flags != v.flags || now[j].keywords != v.keywords) flag_changes.push_back(i);
          v.flags = now[j].flags;
          v.keywords = now[j].keywords;
          v.modseq = now[j].modseq;
          if (!v.keywords.empty() && learn_keywords(v.keywords)) new_keywords = true;
        }
        ++j;
      } else {
        v.expunged = true;
      }
    }
    store::Uid max = max_uid();
    std::size_t before = msgs.size();
    for (const auto& n : now) {
      if (n.uid > max) {
        msgs.push_back(n);
        msgs.back().recent = starts_recent(n.uid, mb->first_recent_uid);
        if (!n.keywords.empty() && learn_keywords(n.keywords)) new_keywords = true;
      }
    }
    if (new_keywords) out += flags_responses();
    for (std::size_t i : flag_changes) {
      const ViewMsg& v = msgs[i];
      if (v.expunged) continue;
      out += "* " + std::to_string(i + 1) + " FETCH (";
      // RFC 9051 §7.5.2: an unsolicited FETCH carries UID for IMAP4rev2 clients too;
      // we always add it (harmless for IMAP4rev1, required by QRESYNC §3.2.4).
      out += "UID " + std::to_string(v.uid) + " ";
      out += "FLAGS " + flag_list(v.flags, v.keywords, v.recent);
      if (o.condstore) out += " MODSEQ (" + std::to_string(v.modseq) + ")";
      out += ")\r\n";
    }
    highestmodseq = std::max(highestmodseq, mb->highestmodseq);
    uidnext = std::max(mb->uidnext, max_uid() + 1);
    const bool added = msgs.size() > before;
    if (o.allow_expunge) report_expunged(out, o.qresync);
    if (added) {
      out += "* " + std::to_string(msgs.size()) + " EXISTS\r\n";
      // RFC 3501 §7.3.2: RECENT goes with a changed mailbox size.
      if (track_recent) out += "* " + std::to_string(recent_count()) + " RECENT\r\n";
    }
  } else if (o.allow_expunge) {
    report_expunged(out, o.qresync);
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
  v.flags = rec.flags;
  v.keywords = rec.keywords;
  v.modseq = rec.modseq;
  learn_keywords(rec.keywords);
}

}  // namespace tern::imapd
