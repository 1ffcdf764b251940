#pragma once
// MailboxView: the selected mailbox as this session's client knows it — message
// sequence numbers, flags, MODSEQs — and the diff against the store that becomes
// untagged EXISTS / EXPUNGE (or VANISHED) / FETCH FLAGS responses (RFC 9051 §7.4,
// §5.2; RFC 7162 §3.2.10 for QRESYNC). No Asio; store reads only (run on the io thread:
// a read txn never blocks and is never held across a co_await).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/imap/args.hpp"
#include "tern/store/store.hpp"

namespace tern::imapd {

// One message as the client knows it. Kept small and trivially copyable (a 100,000-
// message view is one flat array, built at SELECT without an allocation per message):
// the keyword list is an index into the view's table of distinct keyword lists
// (MailboxView::keywords_of).
struct ViewMsg {
  store::Uid uid = 0;
  std::uint32_t flags = 0;
  store::ModSeq modseq = 0;
  std::uint64_t size = 0;
  store::UnixTime internal_date = 0;
  store::BlobId blob = 0;
  std::uint32_t kw = 0;   // MailboxView::kwlists index; 0 = no keywords
  bool expunged = false;  // gone from the store, not yet reported (RFC 9051 §7.5.1)
  bool recent = false;    // \Recent in this session (RFC 3501 §2.3.2)
};

struct ViewSnapshot;
class ViewCache;

struct SyncOptions {
  bool allow_expunge = true;  // false during FETCH, STORE, SEARCH (RFC 9051 §7.5.1)
  bool condstore = false;     // add MODSEQ to FETCH FLAGS updates (RFC 7162 §3.2.4)
  bool qresync = false;       // VANISHED instead of EXPUNGE (RFC 7162 §3.2.10)
};

class MailboxView {
 public:
  store::MailboxInfo info;        // as at SELECT (id, name, uidvalidity)
  bool readonly = false;
  std::vector<ViewMsg> msgs;      // index = sequence number - 1
  store::ModSeq highestmodseq = 0;
  store::Uid uidnext = 1;
  std::vector<std::string> keywords;  // keywords seen in this mailbox (FLAGS)

  // The space-separated keyword list of a message ("" for none).
  std::string_view keywords_of(const ViewMsg& m) const { return kwlists_[m.kw]; }

  // \Recent (RFC 3501 §2.3.2). A read-write view shows as \Recent the UIDs this
  // session claimed (Store::claim_recent, before load() and at command starts); a
  // read-only (EXAMINE) view claims nothing and shows what nobody has claimed yet
  // (uid >= the mailbox's first_recent_uid when the message is first seen). IMAP4rev2
  // sessions (track_recent false) neither claim nor show \Recent (RFC 9051).
  bool track_recent = true;
  std::vector<std::pair<store::Uid, store::Uid>> claimed;  // [first, end) ranges
  // Records a claim and marks the messages already in the view; returns how many were
  // newly marked (then "* n RECENT" is due).
  std::size_t add_claim(store::Uid first, store::Uid end);
  std::uint32_t recent_count() const;

  // Loads every message of `mailbox` (SELECT/EXAMINE) and the mailbox's counters, in one
  // read txn; `info` becomes the mailbox as read then. With a `cache` (the process's,
  // view_cache.hpp) holding a snapshot of the mailbox, the view is that snapshot plus
  // what changed since (one read txn, O(changes)); the result is the same. Either way
  // the up-to-date snapshot goes back into the cache (big mailboxes only).
  store::Result<void> load(store::Store& s, const store::MailboxInfo& mb, ViewCache* cache = nullptr);
  // Brings the view up to date with the store, appending untagged responses to out.
  // Reads only what changed since highestmodseq (Store::changes_since). Returns
  // no_such_mailbox if the mailbox was deleted.
  store::Result<void> sync(store::Store& s, std::string& out, const SyncOptions& o);
  // Marks a message gone from the store (this session's EXPUNGE/MOVE, or another's):
  // it keeps its sequence number until report_expunged().
  void mark_expunged(store::Uid uid);
  // Drops messages marked expunged, reporting them (EXPUNGE or VANISHED) into out.
  void report_expunged(std::string& out, bool qresync);

  std::uint32_t exists() const { return static_cast<std::uint32_t>(msgs.size()); }
  std::uint32_t seq_of_uid(store::Uid uid) const;  // 0: not in the view
  store::Uid max_uid() const { return msgs.empty() ? 0 : msgs.back().uid; }
  // Indices into msgs selected by a sequence set (by number) or a UID set; ascending.
  std::vector<std::size_t> select(const imap::SequenceSet& set, bool by_uid) const;
  // "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" lines for the keywords.
  std::string flags_responses() const;
  // Records new keywords; true if any was new (then FLAGS should be sent again).
  bool learn_keywords(std::string_view space_separated);
  // Applies a message the session itself changed (STORE), so sync() does not
  // report it again.
  void apply(const store::MessageRecord& r);

 private:
  // Whether a message first seen now is \Recent here (see claimed).
  bool starts_recent(store::Uid uid, store::Uid first_unclaimed) const;
  // The index of a keyword list in kwlists_ (added if new; "" is 0). Sets `fresh`
  // when a keyword not in `keywords` appeared (FLAGS is then due again).
  std::uint32_t intern(std::string_view list, bool& fresh);
  ViewMsg from_meta(const store::MessageMeta& m, bool& fresh);
  // \Recent for messages as load() finds them (none marked yet): see starts_recent.
  void mark_recent();
  // Snapshots (mailbox_view_snapshot.cpp). The view as a snapshot, \Recent left out.
  std::shared_ptr<const ViewSnapshot> snapshot() const;
  // The view from a snapshot and the changes after it; false if they do not fit
  // together (then load from the store).
  bool restore(const ViewSnapshot& snap, const store::Store::MailboxChanges& ch);
  // keywords (and the keyword lists) as a load from the store makes them: in order of
  // first use by ascending UID, only those still on a message.
  void relearn_keywords();

  // Distinct keyword lists of the messages; [0] = "". Few in practice (most messages
  // have none or the same one or two), so one copy each instead of one per message.
  std::vector<std::string> kwlists_{std::string()};
  std::unordered_map<std::string, std::uint32_t> kwindex_;
  std::size_t pending_expunged_ = 0;  // messages marked expunged, not yet reported
};

// "(\Seen \Answered $Work)" of a message; \Recent added when `recent`.
std::string flag_list(std::uint32_t flags, std::string_view keywords, bool recent = false);
// The same, appended to out (no allocation once out has room: FETCH FLAGS of a
// whole mailbox).
void append_flag_list(std::string& out, std::uint32_t flags, std::string_view keywords, bool recent = false);
// Decimal digits of n appended to out.
void append_number(std::string& out, std::uint64_t n);

}  // namespace tern::imapd
