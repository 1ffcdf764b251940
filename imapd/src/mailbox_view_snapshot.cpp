// MailboxView <-> ViewSnapshot (view_cache.hpp): SELECT of a cached mailbox.
#include <algorithm>

#include "mailbox_view.hpp"
#include "view_cache.hpp"

namespace tern::imapd {

std::shared_ptr<const ViewSnapshot> MailboxView::snapshot() const {
  auto snap = std::make_shared<ViewSnapshot>();
  snap->mailbox = info.id;
  snap->uidvalidity = info.uidvalidity;
  snap->highestmodseq = highestmodseq;
  snap->msgs = msgs;
  for (auto& m : snap->msgs) m.recent = m.expunged = false;  // per session, not the mailbox's
  snap->kwlists = kwlists_;
  snap->keywords = keywords;
  std::size_t bytes = sizeof(ViewSnapshot) + snap->msgs.capacity() * sizeof(ViewMsg);
  for (const auto& k : snap->kwlists) bytes += sizeof(std::string) + k.capacity();
  for (const auto& k : snap->keywords) bytes += sizeof(std::string) + k.capacity();
  snap->bytes = bytes;
  return snap;
}

bool MailboxView::restore(const ViewSnapshot& snap, const store::Store::MailboxChanges& ch) {
  // Room for the new messages too (at most every changed one), so none reallocates.
  msgs.clear();
  msgs.reserve(snap.msgs.size() + ch.changed.size());
  msgs.insert(msgs.end(), snap.msgs.begin(), snap.msgs.end());
  kwlists_ = snap.kwlists;
  keywords = snap.keywords;
  kwindex_.clear();
  for (std::size_t i = 1; i < kwlists_.size(); ++i) kwindex_.emplace(kwlists_[i], static_cast<std::uint32_t>(i));
  pending_expunged_ = 0;
  if (ch.changed.empty() && ch.vanished.empty()) return true;
  // Expunged since: out of the view (nobody here has seen them).
  bool gone = false;
  for (store::Uid u : ch.vanished)
    if (std::uint32_t seq = seq_of_uid(u)) msgs[seq - 1].expunged = gone = true;
  if (gone)
    msgs.erase(std::remove_if(msgs.begin(), msgs.end(), [](const ViewMsg& m) { return m.expunged; }), msgs.end());
  // Changed since (ascending UID): flag changes of messages in the snapshot, then the
  // new ones. Every message the store has with a UID up to the snapshot's largest was
  // in the snapshot (UIDs only grow); one that is not means they do not fit together.
  bool fresh = false;
  const store::Uid max = max_uid();
  for (const auto& rec : ch.changed) {
    if (rec.uid > max) {
      if (!msgs.empty() && rec.uid <= msgs.back().uid) return false;
      store::MessageMeta meta{rec.uid, rec.modseq, rec.flags, rec.keywords, rec.size, rec.internal_date, rec.blob};
      msgs.push_back(from_meta(meta, fresh));
      continue;
    }
    std::uint32_t seq = seq_of_uid(rec.uid);
    if (seq == 0) return false;
    ViewMsg& v = msgs[seq - 1];
    v.flags = rec.flags;
    v.kw = intern(rec.keywords, fresh);
    v.modseq = rec.modseq;
  }
  if (kwlists_.size() > 1) relearn_keywords();
  return true;
}

void MailboxView::relearn_keywords() {
  // One pass over the flat array (0.1 ms for 100,000 messages); each list in use gets
  // its new index at its first use, as load() interns them.
  std::vector<std::uint32_t> remap(kwlists_.size(), 0);
  std::vector<std::string> lists(1);
  keywords.clear();
  for (auto& m : msgs) {
    if (m.kw == 0) continue;
    std::uint32_t& r = remap[m.kw];
    if (r == 0) {
      r = static_cast<std::uint32_t>(lists.size());
      lists.push_back(std::move(kwlists_[m.kw]));
      learn_keywords(lists.back());
    }
    m.kw = r;
  }
  kwlists_ = std::move(lists);
  kwindex_.clear();
  for (std::size_t i = 1; i < kwlists_.size(); ++i) kwindex_.emplace(kwlists_[i], static_cast<std::uint32_t>(i));
}

}  // namespace tern::imapd
