#pragma once
// tern::store::Store — the mailbox store every daemon and ternctl use (design §3).
//
// One Store object per process (open it once, after any fork), shared by all threads:
// every member function is thread-safe. Calls block (disk I/O, fsync); daemons call them
// through Connection::run_blocking, never on an io thread, and never hold anything of the
// store across a co_await. Several processes may open the same data_dir at once: one
// writer at a time system-wide, readers never blocked.
//
// Every write returns only after its transaction is durable (fsync). Errors are typed
// (tern::store::Errc, see result.hpp); is_temporary(ec) → answer 4xx.
//
// Addresses given to the API are normalized (trimmed, lower-cased) by the store;
// "local@domain" only (no display names, no angle brackets).
//
// The interface is backend-neutral (design §8); open() returns the LMDB backend.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/store/result.hpp"
#include "tern/store/types.hpp"

namespace tern::store {

// 1: the first schema. 2: blob_meta (the parsed-structure cache beside each blob,
// dropped with it) and keywords per mailbox record. A schema-1 binary would expunge
// without dropping blob_meta entries and rewrite mailbox records without their
// keywords, so it must refuse a schema-2 store; opening a schema-1 store migrates it
// (nothing to rewrite: old mailbox records read as having no keywords, and blob_meta
// starts empty). 3: subscriptions kept apart from mailboxes (the "subs" table, moved
// there from the per-mailbox flag of versions 1 and 2 on open). 4: the MODSEQ index
// ("by_modseq": (mailbox, modseq, uid) for every message), so changes_since() reads
// only what changed; built from the messages on open. A schema-3 binary would change
// flags without moving the index entries, so it must refuse a schema-4 store.
inline constexpr std::uint32_t kSchemaVersion = 4;

struct StoreOptions {
  // LMDB map size: address space reserved, the file grows sparsely. Grown on MAP_FULL.
  std::uint64_t map_size = 64ull << 30;
  unsigned max_readers = 512;
  // Group commit: concurrent deliver() calls of one process share one txn + one fsync.
  bool group_commit = true;
  // How long a group leader waits for more deliveries before committing (0 = no wait;
  // the group is whatever queued while the previous commit was in flight).
  std::chrono::microseconds group_window{0};
  // Open without writing (ternctl stats/list on a read-only copy). Writes fail.
  bool read_only = false;
};

// Pure helpers (no store needed).
// Lower-case and validate "local@domain"; nullopt if malformed (no '@', empty part,
// spaces/controls, over 254 octets, local part over 64, bad domain label).
std::optional<std::string> normalize_address(std::string_view address);
// Lower-case and validate a domain name ("example.test"); nullopt if malformed.
std::optional<std::string> normalize_domain(std::string_view domain);
// IMAP LIST pattern match (RFC 9051 6.3.9): '*' matches anything, '%' anything but the
// hierarchy delimiter. INBOX is matched case-insensitively.
bool mailbox_matches(std::string_view pattern, std::string_view name);

class Store;
using StorePtr = std::unique_ptr<Store>;

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if absent) data_dir/store/. Creates the schema or migrates an older
  // one; refuses a newer schema with Errc::schema_too_new. Clears reader slots left by
  // dead processes. Fails with io_error if the directory can't be created or opened.
  static Result<StorePtr> open(const std::filesystem::path& data_dir, const StoreOptions& options = {});

  // ------------------------------------------------------------ domains
  virtual Result<void> add_domain(std::string_view domain) = 0;      // exists, invalid_argument
  // Refuses (not_permitted) while accounts or aliases of the domain exist.
  virtual Result<void> del_domain(std::string_view domain) = 0;      // not_found, not_permitted
  virtual Result<std::vector<std::string>> list_domains() = 0;       // sorted
  virtual bool domain_exists(std::string_view domain) = 0;           // false on error too

  // ------------------------------------------------------------ accounts
  // Creates the account and its mailboxes INBOX, Sent, Drafts, Junk, Trash, Archive
  // (special-use set, all subscribed). Errors: invalid_address, unknown_domain, exists
  // (an account or an alias with that address).
  virtual Result<AccountId> add_account(const NewAccount& account) = 0;
  // Deletes the account, its mailboxes, messages (dropping body refs) and settings.
  virtual Result<void> del_account(std::string_view address) = 0;
  // What points at the account: "alias SRC", "catch-all @DOM", "archive of DOM", sorted.
  // With force false and something pointing at it, nothing is changed and the list is
  // returned (the caller refuses); empty list: deleted. With force true, in ONE
  // transaction: the address is dropped from every alias (an alias left with no target
  // is deleted), archives pointing at it are turned off, the account is deleted; the
  // list says what was removed. Errors as del_account.
  virtual Result<std::vector<std::string>> del_account_checked(std::string_view address, bool force) = 0;
  // Accounts of one domain (or all if domain is empty), sorted by address.
  virtual Result<std::vector<Account>> list_accounts(std::string_view domain = {}) = 0;
  virtual Result<Account> get_account(std::string_view address) = 0;  // not_found
  virtual Result<Account> get_account(AccountId id) = 0;              // not_found
  // Replaces the hash and the SCRAM credential (nullopt removes the credential).
  virtual Result<void> set_password(std::string_view address, std::string_view hash,
                                    const std::optional<ScramCredential>& scram) = 0;
  virtual Result<void> set_quota(std::string_view address, const Quota& quota) = 0;
  virtual Result<void> set_enabled(std::string_view address, bool enabled) = 0;

  // ------------------------------------------------------------ aliases
  // source: "a@dom" or "@dom" (catch-all); the domain must be local. Targets: addresses,
  // local or remote. Errors: invalid_address, unknown_domain, exists (an alias or an
  // account has that address), alias_loop (following local targets reaches source again,
  // or nests deeper than kMaxAliasDepth).
  static constexpr int kMaxAliasDepth = 8;
  virtual Result<void> add_alias(std::string_view source, const std::vector<std::string>& targets) = 0;
  virtual Result<void> del_alias(std::string_view source) = 0;  // not_found
  // Replaces the targets of an existing alias (not_found), checked as add_alias.
  virtual Result<void> set_alias(std::string_view source, const std::vector<std::string>& targets) = 0;
  virtual Result<Alias> get_alias(std::string_view source) = 0;  // not_found
  virtual Result<std::vector<Alias>> list_aliases(std::string_view domain = {}) = 0;

  // ------------------------------------------------------------ admins
  virtual Result<void> add_admin(const Admin& admin) = 0;  // exists, invalid_argument
  virtual Result<void> del_admin(std::string_view name) = 0;
  virtual Result<Admin> get_admin(std::string_view name) = 0;
  virtual Result<std::vector<Admin>> list_admins() = 0;
  virtual Result<void> set_admin_password(std::string_view name, std::string_view hash) = 0;

  // ------------------------------------------------------------ resolution
  // Expands aliases recursively (depth kMaxAliasDepth, each address once), then
  // plus-addressing ("user+tag@d" → "user@d" when "user+tag@d" itself is unknown), then
  // the catch-all "@d". A direct account match wins over an alias. An account with a
  // Forwarding expands to its targets too, and stays among the local recipients only
  // with keep_copy. Errors:
  // invalid_address; no_such_user (nothing local matched, or the domain is not local);
  // account_disabled (the only local accounts reached are disabled; disabled accounts
  // reached through an alias together with others are skipped).
  virtual Result<Resolution> resolve(std::string_view address) = 0;

  // ------------------------------------------------------------ delivery
  // Stores the body once (content hash, refcount, fixed-size chunks), appends it to every
  // target mailbox (UID, MODSEQ), updates usage with the quota check of each target in the
  // same txn (a target over quota gets quota_exceeded in its TargetResult and the others
  // still succeed), enqueues every outbound entry, records the events, commits with fsync,
  // and only then returns. Concurrent calls may share one commit (group commit).
  // Whole-call errors: temporary ones (map_full, disk_full, io_error) and invalid_argument
  // (unreadable body_file → io_error).
  virtual Result<DeliveryResult> deliver(const DeliveryRequest& request) = 0;

  // ------------------------------------------------------------ mailboxes
  // Names: '/' hierarchy, no empty levels, no leading/trailing '/', no '*' '%' or controls,
  // "inbox" in any case means INBOX. Missing parents are created (RFC 9051 6.3.4).
  virtual Result<MailboxId> create_mailbox(AccountId account, std::string_view name,
                                           SpecialUse use = SpecialUse::none) = 0;
  // Renames the mailbox and every child ("a" → "b" also renames "a/x" → "b/x"), keeping
  // ids and UIDVALIDITY. Renaming INBOX moves its messages into a new mailbox `to` and
  // leaves INBOX empty (RFC 9051 6.3.6). Errors: no_such_mailbox, exists.
  virtual Result<void> rename_mailbox(AccountId account, std::string_view from, std::string_view to) = 0;
  // Deletes the mailbox and its messages (children stay). INBOX → not_permitted.
  virtual Result<void> delete_mailbox(AccountId account, std::string_view name) = 0;
  // Mailboxes whose name matches the pattern (see mailbox_matches), sorted by name.
  virtual Result<std::vector<MailboxInfo>> list_mailboxes(AccountId account, std::string_view pattern = "*") = 0;
  virtual Result<MailboxInfo> get_mailbox(AccountId account, std::string_view name) = 0;  // no_such_mailbox
  virtual Result<MailboxInfo> get_mailbox(MailboxId id) = 0;
  // The subscription list (RFC 9051 6.3.7, 6.3.8) is apart from the mailboxes: deleting
  // a mailbox leaves its name subscribed; renaming one moves the subscriptions of it and
  // its children to the new names (as Dovecot). SUBSCRIBE needs the mailbox to exist
  // (no_such_mailbox); UNSUBSCRIBE of a name not in the list: not_found.
  virtual Result<void> subscribe(AccountId account, std::string_view name, bool subscribed) = 0;
  // The subscribed names (canonical: "INBOX" upper case), sorted, existing or not.
  virtual Result<std::vector<std::string>> list_subscriptions(AccountId account) = 0;
  // RFC 3501 2.3.2 \Recent: atomically takes the messages no session has claimed yet,
  // UIDs [first, end) = [first_recent_uid, uidnext), and moves first_recent_uid to end,
  // so exactly one session (of any process) gets each message as \Recent. Writes only
  // when there is something to claim (first < end); empty range otherwise.
  // no_such_mailbox if the mailbox is gone.
  struct RecentClaim {
    Uid first = 0, end = 0;
  };
  virtual Result<RecentClaim> claim_recent(MailboxId mailbox) = 0;
  virtual Result<void> set_special_use(AccountId account, std::string_view name, SpecialUse use) = 0;

  // ------------------------------------------------------------ messages
  // Calls fn for each message with first <= uid <= last, ascending, inside one read txn
  // (no copy of the mailbox). fn returns false to stop. The MessageMeta views are valid
  // only during the call. Do not call other Store functions from fn.
  virtual Result<void> for_each_message(MailboxId mailbox, UidRange range,
                                        const std::function<bool(const MessageMeta&)>& fn) = 0;
  // for_each_message, and the mailbox as of the SAME read txn: its HIGHESTMODSEQ and
  // UIDNEXT describe exactly the messages fn saw, so changes_since(highestmodseq) later
  // misses nothing (IMAP SELECT builds its view with this). no_such_mailbox.
  virtual Result<MailboxInfo> read_mailbox(MailboxId mailbox, UidRange range,
                                           const std::function<bool(const MessageMeta&)>& fn) = 0;
  // What changed in a mailbox since MODSEQ `since` (a session's view of it), read in ONE
  // read txn through the MODSEQ index: O(changes), not O(messages). `changed` holds
  // every message whose MODSEQ > since (new ones and flag changes; appends get a new
  // MODSEQ too), ascending by UID; `vanished` the UIDs expunged with a MODSEQ > since,
  // ascending (those that never reached the view included). no_such_mailbox.
  struct MailboxChanges {
    MailboxInfo info;
    std::vector<MessageRecord> changed;
    std::vector<Uid> vanished;
  };
  virtual Result<MailboxChanges> changes_since(MailboxId mailbox, ModSeq since) = 0;
  virtual Result<MessageRecord> get_message(MailboxId mailbox, Uid uid) = 0;  // not_found
  // Streams the stored message (prefix+body) in chunks, in order, inside one read txn;
  // chunk views point into the map (zero-copy) and are valid only during the call.
  // Chunks are small (about 0.5 KiB): buffer them before writing to a socket.
  // fn returns false to stop. Do not call other Store functions from fn.
  virtual Result<void> read_message(MailboxId mailbox, Uid uid,
                                    const std::function<bool(std::string_view chunk)>& fn) = 0;
  virtual Result<void> read_blob(BlobId blob, const std::function<bool(std::string_view chunk)>& fn) = 0;
  // The octets [offset, offset + length) of the stored message (length clipped at its
  // end; kToEnd = everything from offset), for partial FETCH (BODY[]<o.n>, a part's
  // bytes at known offsets) and POP3's segmented RETR. Seeks straight to the chunk that
  // holds `offset` (one lookup, no walk from chunk 0). Same rules as read_message; an
  // offset at or past the end gives no chunk and success.
  static constexpr std::uint64_t kToEnd = ~std::uint64_t{0};
  virtual Result<void> read_message_range(MailboxId mailbox, Uid uid, std::uint64_t offset, std::uint64_t length,
                                          const std::function<bool(std::string_view chunk)>& fn) = 0;
  virtual Result<void> read_blob_range(BlobId blob, std::uint64_t offset, std::uint64_t length,
                                       const std::function<bool(std::string_view chunk)>& fn) = 0;
  // Parsed-structure cache, per body (blob): opaque bytes (tern/mime/cache.hpp's
  // serialize()), kept beside the blob in small chunks and dropped with it. imapd writes
  // what it parsed during a command in ONE call (one commit) at the end of the command;
  // an entry replaces an older one. Values over kMaxBlobMeta → invalid_argument (nothing
  // written); unknown blob ids are skipped (the message was expunged meanwhile).
  static constexpr std::size_t kMaxBlobMeta = 1 << 20;
  virtual Result<void> put_blob_meta(const std::vector<std::pair<BlobId, std::string>>& entries) = 0;
  // nullopt if nothing is cached for the blob.
  virtual Result<std::optional<std::string>> get_blob_meta(BlobId blob) = 0;
  // Convenience: the whole message as a string (tests, small messages).
  virtual Result<std::string> read_message_string(MailboxId mailbox, Uid uid) = 0;

  // Each changed message gets a new MODSEQ (one per call, shared by all its messages).
  virtual Result<FlagResult> set_flags(MailboxId mailbox, const UidSet& uids, const FlagUpdate& update) = 0;
  // Removes the messages in `uids` (all of them if nullopt); if only_deleted, only those
  // with \Deleted. Records the vanished UIDs under the new MODSEQ (RFC 7162 QRESYNC),
  // drops body refs, updates usage. Returns the expunged UIDs, ascending.
  virtual Result<std::vector<Uid>> expunge(MailboxId mailbox, const std::optional<UidSet>& uids,
                                           bool only_deleted) = 0;
  // UIDs expunged with a MODSEQ > since (RFC 7162 3.2.10 VANISHED (EARLIER)), ascending.
  virtual Result<std::vector<Uid>> vanished_since(MailboxId mailbox, ModSeq since) = 0;
  // Copies (one body copy, refcount +1 each) into dest; quota checked for dest's account.
  virtual Result<CopyResult> copy_messages(MailboxId source, const UidSet& uids, MailboxId dest) = 0;
  // copy + expunge of the source messages in one txn (RFC 6851).
  virtual Result<CopyResult> move_messages(MailboxId source, const UidSet& uids, MailboxId dest) = 0;

  // ------------------------------------------------------------ outbound queue
  // Enqueue with a body of its own (not part of a delivery): prefix + body as in deliver.
  virtual Result<std::vector<QueueId>> enqueue(const DeliveryRequest& request) = 0;
  // Entries with next_attempt <= now, by next_attempt, at most `limit`.
  virtual Result<std::vector<QueueEntry>> due_queue(UnixTime now, std::size_t limit) = 0;
  // attempts+1, last_error = error, next_attempt = next.
  virtual Result<void> reschedule(QueueId id, UnixTime next, std::string_view error) = 0;
  virtual Result<void> remove_queue(QueueId id) = 0;  // drops the body ref; not_found
  virtual Result<QueueEntry> get_queue(QueueId id) = 0;
  virtual Result<std::vector<QueueEntry>> list_queue() = 0;  // by id
  // Queue changes and events in one commit (a deliver() with no body): the outbound
  // worker removes the entries a peer accepted and records the attempt at once.
  // DUPLICATE-SAFE durability, unlike every other write here: when it returns, the
  // commit survives a crash of any process (kill -9) and is seen by all of them, but a
  // system crash or power loss may undo it (LMDB's MDB_NOMETASYNC: the meta page is
  // synced by the next commit of any process; the store stays intact). Undoing it
  // only brings entries back (sent twice, or retried early) and drops their events;
  // it never loses mail. So it is for queue results only, never for anything that
  // acknowledges mail (deliver(), enqueue(), APPEND, expunge... are fully synced).
  virtual Result<void> update_queue(const std::vector<QueueChange>& changes,
                                    const std::vector<DeliveryEvent>& events) = 0;
  // Makes every entry due now (ternctl queue flush); one id or all (id 0). Returns how
  // many were changed; not_found for an unknown id.
  virtual Result<std::size_t> flush_queue(QueueId id) = 0;
  // The SRS secret (32 random bytes), created on first use and kept in the store so
  // every daemon and restart agree on it.
  virtual Result<std::string> srs_secret() = 0;

  // ------------------------------------------------------------ settings
  virtual Result<void> set_autoreply(std::string_view address, const AutoReply& reply) = 0;
  virtual Result<void> clear_autoreply(std::string_view address) = 0;
  virtual Result<std::optional<AutoReply>> get_autoreply(std::string_view address) = 0;
  // Atomically: if now is inside the reply's [start, end) dates and no reply to `sender`
  // was recorded within the account's `days` before now, records (sender, now) and
  // returns true; else false (RFC 3834 5.2).
  virtual Result<bool> claim_autoreply(AccountId account, std::string_view sender, UnixTime now) = 0;

  // Forwarding of a mailbox's own mail (types.hpp Forwarding). Targets are checked as
  // alias targets: invalid_address; no_such_user for a local target that leads nowhere;
  // alias_loop when following them comes back to the account; invalid_argument for no
  // targets, more than kMaxForwardTargets, or the account itself. not_found: no account.
  // Deleting a target account drops it from every forwarding (del_account_checked).
  virtual Result<void> set_forwarding(std::string_view address, const Forwarding& forwarding) = 0;
  virtual Result<void> clear_forwarding(std::string_view address) = 0;
  virtual Result<std::optional<Forwarding>> get_forwarding(std::string_view address) = 0;

  // Per-domain archive: a copy of every message to/from the domain goes to this address
  // ("" = off).
  virtual Result<void> set_domain_archive(std::string_view domain, std::string_view archive_address) = 0;
  virtual Result<std::string> get_domain_archive(std::string_view domain) = 0;

  // A per-install random secret of 32 bytes under `name` (e.g. "scram-fake-salt"),
  // made on first use and kept (and backed up) with the store; every process gets the
  // same bytes.
  virtual Result<std::string> install_secret(std::string_view name) = 0;

  virtual Result<void> put_dkim_key(const DkimKey& key) = 0;  // replaces (domain, selector)
  // New keys, all or none in one commit: exists (and nothing written) if any
  // (domain, selector) is taken or named twice; unknown_domain, invalid_argument.
  virtual Result<void> add_dkim_keys(const std::vector<DkimKey>& keys) = 0;
  virtual Result<std::vector<DkimKey>> get_dkim_keys(std::string_view domain) = 0;
  virtual Result<void> del_dkim_key(std::string_view domain, std::string_view selector) = 0;

  virtual Result<void> put_session(const WebSession& session) = 0;
  virtual Result<WebSession> get_session(std::string_view token, UnixTime now) = 0;  // not_found if expired
  virtual Result<void> del_session(std::string_view token) = 0;
  virtual Result<std::size_t> prune_sessions(UnixTime now) = 0;

  // ------------------------------------------------------------ delivery events
  virtual Result<void> add_events(const std::vector<DeliveryEvent>& events) = 0;
  // Newest first, at most `limit`.
  virtual Result<std::vector<DeliveryEvent>> recent_events(std::size_t limit) = 0;
  // Events with since <= time < until, oldest first; fn returns false to stop. Runs in
  // one read txn; do not call other Store functions from fn.
  virtual Result<void> for_each_event(UnixTime since, UnixTime until,
                                      const std::function<bool(const DeliveryEvent&)>& fn) = 0;
  // Removes events with time < before; returns how many.
  virtual Result<std::size_t> prune_events(UnixTime before) = 0;

  // ------------------------------------------------------------ admin
  virtual Result<StoreStats> stats() = 0;
  // Verifies every invariant: blob refcounts = references from messages + queue, no
  // orphan blobs/chunks, chunk count/size match, mailbox counters and UIDNEXT > every
  // UID, HIGHESTMODSEQ >= every MODSEQ, account usage = sum of its messages. With repair,
  // fixes counters and drops orphans in one txn (each issue then has repaired = true).
  virtual Result<std::vector<CheckIssue>> check(bool repair) = 0;
  // A consistent compacted copy of the store into dir (created; must be empty or absent),
  // while other processes keep running. The copy is laid out as a data_dir
  // (dir/store/data.mdb), so Store::open(dir) opens it.
  virtual Result<void> backup(const std::filesystem::path& dir) = 0;

  // ------------------------------------------------------------ change notification
  // Counter that grows with every commit by any process (cheap, no txn).
  virtual std::uint64_t last_commit() = 0;
  // Blocks until `mailbox` has HIGHESTMODSEQ > since (returns it), the mailbox is deleted
  // (no_such_mailbox), or timeout (returns the current HIGHESTMODSEQ, <= since).
  // Wakes within ~100 ms of a commit in any process (inotify on the data file, with a
  // polling fallback).
  virtual Result<ModSeq> wait_for_change(MailboxId mailbox, ModSeq since, std::chrono::milliseconds timeout) = 0;
  // Each watch() is one inotify instance (Linux allows 128 per user by default): a
  // daemon makes ONE and shares it through tern::net::ChangeNotifier
  // (tern/net/change_notifier.hpp + tern/store/change_source.hpp), which wakes any
  // number of waiting sessions; never one watcher per session.
  // For event loops: a watcher whose fd() becomes readable after commits by any process
  // (inotify; -1 if unavailable: then poll every 100 ms). After the fd is readable call
  // drain(), then compare get_mailbox().highestmodseq with what the session knows.
  // The fd can fire a moment before the commit is visible to a new read txn, so also
  // re-check on a short timer (<= 100 ms) while waiting, as wait_for_change() does.
  class Watcher {
   public:
    virtual ~Watcher() = default;
    virtual int fd() const = 0;
    virtual void drain() = 0;
  };
  virtual std::unique_ptr<Watcher> watch() = 0;
  // HIGHESTMODSEQ of each mailbox (nullopt: no such mailbox, e.g. deleted), all read in
  // ONE read txn; `txn` is the commit that snapshot saw (compare with last_commit():
  // when they differ a newer commit exists). What the per-process change notifier
  // (tern/net/change_notifier.hpp, wired by tern/store/change_source.hpp) calls after
  // every commit, once for all the mailboxes its waiters wait on.
  struct ModSeqSnapshot {
    std::uint64_t txn = 0;
    std::vector<std::optional<ModSeq>> values;  // one per requested mailbox, same order
  };
  virtual Result<ModSeqSnapshot> highest_modseqs(const std::vector<MailboxId>& mailboxes) = 0;
};

}  // namespace tern::store
