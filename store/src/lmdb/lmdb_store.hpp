#pragma once
// The LMDB backend of tern::store::Store. Only store/src/lmdb/ includes <lmdb.h>.
//
// Layout (named databases, big-endian integer keys, see codec.hpp):
//   meta        "schema" u32, counters "next_*" u64, "uidv_base" u32, "secret:<name>" 32 bytes
//   domains     domain → archive address
//   accounts    id → AccountRec              acct_addr  address → id
//   aliases     source → targets             admins     name → AdminRec
//   mailboxes   id → MailboxRec              mbox_names (account, name) → id
//   subs        (account, name) → ""  the subscription list, apart from mailboxes (schema 2)
//   messages    (mailbox, uid) → MsgRec
//   blobs       id → BlobRec                 blob_hash  sha256 → id
//   chunks      (blob, n) → up to kChunkSize bytes (stored inline in leaf pages: no
//               overflow pages, so no search for long free runs; design §3)
//   blob_meta   (blob, n) → chunks of the cached parsed structure (put_blob_meta)
//   changes     (mailbox, modseq) → expunged uids (QRESYNC)
//   by_modseq   (mailbox, modseq, uid) → ""  one entry per message, moved when its
//               MODSEQ changes (schema 4): changes_since() seeks (mailbox, since + 1)
//   queue       id → QueueRec                queue_due  (next_attempt, id) → ""
//   autoreply   account id → AutoReply       ar_log     (account, sender) → time
//   forward     account id → Forwarding (keep_copy u8, targets)
//   dkim        domain "\0" selector → DkimKey
//   sessions    token → WebSession           events     (time, seq) → Event
//
// Internally, failures inside a transaction are thrown (MdbError, StoreError,
// CorruptRecord) and turned into Result at the API boundary (run_read/run_write), which
// keeps the many small record operations readable; no exception crosses the public API.
#include <lmdb.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codec.hpp"
#include "tern/store/store.hpp"

namespace tern::store::lmdb {

// Body chunk size. Chunks stay inline in 4 KiB leaf pages (no overflow pages, so no
// search for long free runs: design §3). LMDB's leaf node max is 2038 bytes, and a node
// is 8 (header) + 12 (key) + data + 2 (pointer); 488 bytes packs 8 nodes per page
// exactly. Measured with bench_store (4 KiB messages, 20k): 2016-byte chunks (2 per
// page) used 6396 B/message, 998 (4 per page) 5377 B, 488 (8 per page) 4862 B, because
// the partial last chunk of each message wastes less page space. Readers don't depend
// on it (they stream whatever chunks a blob has), so it can change without migration.
inline constexpr std::size_t kChunkSize = 488;

struct MdbError : std::runtime_error {
  int rc;
  explicit MdbError(int r) : std::runtime_error(mdb_strerror(r)), rc(r) {}
};
struct StoreError : std::runtime_error {
  Errc errc;
  explicit StoreError(Errc e) : std::runtime_error("store error"), errc(e) {}
};
[[noreturn]] inline void fail(Errc e) { throw StoreError(e); }
inline void check_rc(int rc) {
  if (rc != MDB_SUCCESS) throw MdbError(rc);
}
Errc map_rc(int rc);

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

struct Dbis {
  MDB_dbi meta, domains, accounts, acct_addr, aliases, admins, mailboxes, mbox_names, messages,
      blobs, blob_hash, chunks, blob_meta, changes, queue, queue_due, autoreply, ar_log, dkim, sessions, events, forward,
      subs, by_modseq;
};

class Cursor;

// How durable a write txn's commit is when it returns.
enum class Durability {
  // The data pages and the meta page are on disk (fdatasync + the meta page written
  // through LMDB's O_DSYNC descriptor): survives a process crash and a system crash.
  // Everything that acknowledges mail (SMTP 250, APPEND, POP3 DELE, ...) and the default.
  full,
  // Duplicate-safe: MDB_NOMETASYNC for this commit. The data pages are synced, the meta
  // page is written to the file but synced only by the next synced commit of any process
  // (its fdatasync covers the whole file), mdb_env_sync or the kernel's writeback. A
  // process crash (kill -9) loses nothing: the page cache survives, other processes see
  // the commit at once. A system crash or power loss may undo this commit (LMDB keeps
  // its integrity: the previous meta page stays valid), never anything older. Only for
  // commits whose undoing makes tern do work again and never loses mail: the outbound
  // queue's result commit (an entry removed after the peer's 250 comes back and is sent
  // twice; a reschedule comes back and is retried early). NEVER for anything that
  // acknowledges received mail or that a client was told is done.
  duplicate_safe,
};

// While alive, this process's commits skip the meta-page sync (MDB_NOMETASYNC), if
// `on`. mdb_env_set_flags is not safe against another thread changing the flags, and
// the flag applies to the whole env, so the caller must hold write_mu_ (every write txn
// of this process runs under it) for the guard's whole life: the flag is restored
// before any other writer of this process can commit. Other processes have envs of
// their own.
class MetaSyncDeferral {
 public:
  MetaSyncDeferral(MDB_env* env, bool on);
  ~MetaSyncDeferral();
  MetaSyncDeferral(const MetaSyncDeferral&) = delete;
  MetaSyncDeferral& operator=(const MetaSyncDeferral&) = delete;

 private:
  MDB_env* env_ = nullptr;  // set only if we set the flag
};

// A transaction (read or write). Aborted on destruction unless committed.
class Txn {
 public:
  Txn(MDB_env* env, bool write, MDB_txn* parent = nullptr);
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  void commit();
  void abort();
  // The live handle; TERN_ASSERTs the transaction is live (not committed or aborted)
  // and, for a write transaction, used on the thread that began it (LMDB write txns are
  // thread-bound: the never-hold-a-txn-across-co_await rule, design §1).
  MDB_txn* get() const;

  std::optional<std::string_view> get(MDB_dbi dbi, std::string_view key);
  void put(MDB_dbi dbi, std::string_view key, std::string_view val, unsigned flags = 0);
  // false if absent
  bool del(MDB_dbi dbi, std::string_view key);

 private:
  MDB_txn* t_ = nullptr;
  bool write_ = false;
  std::thread::id owner_;
};

class Cursor {
 public:
  Cursor(Txn& txn, MDB_dbi dbi);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  // Position at the first key >= key; false if none.
  bool seek(std::string_view key);
  bool first();
  bool last();
  bool next();
  bool prev();
  std::string_view key() const { return from_val(k_); }
  std::string_view val() const { return from_val(v_); }
  void put(std::string_view key, std::string_view val, unsigned flags = 0);
  void del();  // the current item

 private:
  bool op(MDB_cursor_op o);
  MDB_cursor* c_ = nullptr;
  MDB_val k_{}, v_{};
};

// ---- records
struct AccountRec {
  Account a;
  static AccountRec decode(std::string_view v);
  std::string encode() const;
};

struct MailboxRec {
  MailboxInfo m;
  static MailboxRec decode(std::string_view v);
  std::string encode() const;
};

struct MsgRec {
  ModSeq modseq = 0;
  std::uint32_t flags = 0;
  std::uint64_t size = 0;
  UnixTime idate = 0;
  BlobId blob = 0;
  std::string keywords;
  static MsgRec decode(std::string_view v);
  // Decodes with keywords as a view into v (no allocation): for iteration.
  static MessageMeta view(Uid uid, std::string_view v);
  std::string encode() const;
};

struct BlobRec {
  std::uint64_t refcount = 0;
  std::uint64_t size = 0;
  std::uint32_t chunks = 0;
  std::string hash;  // 32 bytes sha256
  static BlobRec decode(std::string_view v);
  std::string encode() const;
};

QueueEntry decode_queue(QueueId id, std::string_view v);
std::string encode_queue(const QueueEntry& q);

// The body of a delivery, hashed before the write txn.
struct PreparedBody {
  const DeliveryRequest* req = nullptr;
  std::string hash;
  std::uint64_t size = 0;
};

class LmdbStore final : public Store {
 public:
  LmdbStore() = default;
  ~LmdbStore() override;
  Result<void> open_env(const std::filesystem::path& data_dir, const StoreOptions& options);

  Result<void> add_domain(std::string_view domain) override;
  Result<void> del_domain(std::string_view domain) override;
  Result<std::vector<std::string>> list_domains() override;
  bool domain_exists(std::string_view domain) override;

  Result<AccountId> add_account(const NewAccount& account) override;
  Result<void> del_account(std::string_view address) override;
  Result<std::vector<std::string>> del_account_checked(std::string_view address, bool force) override;
  Result<std::vector<Account>> list_accounts(std::string_view domain) override;
  Result<Account> get_account(std::string_view address) override;
  Result<Account> get_account(AccountId id) override;
  Result<void> set_password(std::string_view address, std::string_view hash,
                            const std::optional<ScramCredential>& scram) override;
  Result<void> set_quota(std::string_view address, const Quota& quota) override;
  Result<void> set_enabled(std::string_view address, bool enabled) override;

  Result<void> add_alias(std::string_view source, const std::vector<std::string>& targets) override;
  Result<void> del_alias(std::string_view source) override;
  Result<void> set_alias(std::string_view source, const std::vector<std::string>& targets) override;
  Result<Alias> get_alias(std::string_view source) override;
  void write_alias(Txn& t, const std::string& src, const std::vector<std::string>& targets);
  void delete_account_txn(Txn& t, AccountRec& a);
  Result<std::vector<Alias>> list_aliases(std::string_view domain) override;

  Result<void> add_admin(const Admin& admin) override;
  Result<void> del_admin(std::string_view name) override;
  Result<Admin> get_admin(std::string_view name) override;
  Result<std::vector<Admin>> list_admins() override;
  Result<void> set_admin_password(std::string_view name, std::string_view hash) override;

  Result<Resolution> resolve(std::string_view address) override;

  Result<DeliveryResult> deliver(const DeliveryRequest& request) override;

  Result<MailboxId> create_mailbox(AccountId account, std::string_view name, SpecialUse use) override;
  Result<void> rename_mailbox(AccountId account, std::string_view from, std::string_view to) override;
  Result<void> delete_mailbox(AccountId account, std::string_view name) override;
  Result<std::vector<MailboxInfo>> list_mailboxes(AccountId account, std::string_view pattern) override;
  Result<MailboxInfo> get_mailbox(AccountId account, std::string_view name) override;
  Result<MailboxInfo> get_mailbox(MailboxId id) override;
  Result<void> subscribe(AccountId account, std::string_view name, bool subscribed) override;
  Result<std::vector<std::string>> list_subscriptions(AccountId account) override;
  Result<RecentClaim> claim_recent(MailboxId mailbox) override;
  Result<void> set_special_use(AccountId account, std::string_view name, SpecialUse use) override;

  Result<void> for_each_message(MailboxId mailbox, UidRange range,
                                const std::function<bool(const MessageMeta&)>& fn) override;
  Result<MailboxInfo> read_mailbox(MailboxId mailbox, UidRange range,
                                   const std::function<bool(const MessageMeta&)>& fn) override;
  Result<MailboxChanges> changes_since(MailboxId mailbox, ModSeq since) override;
  Result<MessageRecord> get_message(MailboxId mailbox, Uid uid) override;
  Result<void> read_message(MailboxId mailbox, Uid uid,
                            const std::function<bool(std::string_view)>& fn) override;
  Result<void> read_blob(BlobId blob, const std::function<bool(std::string_view)>& fn) override;
  Result<void> read_message_range(MailboxId mailbox, Uid uid, std::uint64_t offset, std::uint64_t length,
                                  const std::function<bool(std::string_view)>& fn) override;
  Result<void> read_blob_range(BlobId blob, std::uint64_t offset, std::uint64_t length,
                               const std::function<bool(std::string_view)>& fn) override;
  Result<std::string> read_message_string(MailboxId mailbox, Uid uid) override;
  Result<void> put_blob_meta(const std::vector<std::pair<BlobId, std::string>>& entries) override;
  Result<std::optional<std::string>> get_blob_meta(BlobId blob) override;
  Result<FlagResult> set_flags(MailboxId mailbox, const UidSet& uids, const FlagUpdate& update) override;
  Result<std::vector<Uid>> expunge(MailboxId mailbox, const std::optional<UidSet>& uids, bool only_deleted) override;
  Result<std::vector<Uid>> vanished_since(MailboxId mailbox, ModSeq since) override;
  Result<CopyResult> copy_messages(MailboxId source, const UidSet& uids, MailboxId dest) override;
  Result<CopyResult> move_messages(MailboxId source, const UidSet& uids, MailboxId dest) override;

  Result<std::vector<QueueId>> enqueue(const DeliveryRequest& request) override;
  Result<std::vector<QueueEntry>> due_queue(UnixTime now, std::size_t limit) override;
  Result<void> reschedule(QueueId id, UnixTime next, std::string_view error) override;
  Result<void> update_queue(const std::vector<QueueChange>& changes,
                            const std::vector<DeliveryEvent>& events) override;
  Result<std::size_t> flush_queue(QueueId id) override;
  Result<std::string> srs_secret() override;
  Result<void> remove_queue(QueueId id) override;
  Result<QueueEntry> get_queue(QueueId id) override;
  Result<std::vector<QueueEntry>> list_queue() override;

  Result<void> set_autoreply(std::string_view address, const AutoReply& reply) override;
  Result<void> clear_autoreply(std::string_view address) override;
  Result<std::optional<AutoReply>> get_autoreply(std::string_view address) override;
  Result<bool> claim_autoreply(AccountId account, std::string_view sender, UnixTime now) override;
  Result<void> set_forwarding(std::string_view address, const Forwarding& forwarding) override;
  Result<void> clear_forwarding(std::string_view address) override;
  Result<std::optional<Forwarding>> get_forwarding(std::string_view address) override;
  Result<void> set_domain_archive(std::string_view domain, std::string_view archive_address) override;
  Result<std::string> get_domain_archive(std::string_view domain) override;
  Result<std::string> install_secret(std::string_view name) override;
  Result<void> put_dkim_key(const DkimKey& key) override;
  Result<void> add_dkim_keys(const std::vector<DkimKey>& keys) override;
  Result<std::vector<DkimKey>> get_dkim_keys(std::string_view domain) override;
  Result<void> del_dkim_key(std::string_view domain, std::string_view selector) override;
  Result<void> put_session(const WebSession& session) override;
  Result<WebSession> get_session(std::string_view token, UnixTime now) override;
  Result<void> del_session(std::string_view token) override;
  Result<std::size_t> prune_sessions(UnixTime now) override;

  Result<void> add_events(const std::vector<DeliveryEvent>& events) override;
  Result<std::vector<DeliveryEvent>> recent_events(std::size_t limit) override;
  Result<void> for_each_event(UnixTime since, UnixTime until,
                              const std::function<bool(const DeliveryEvent&)>& fn) override;
  Result<std::size_t> prune_events(UnixTime before) override;

  Result<StoreStats> stats() override;
  Result<std::vector<CheckIssue>> check(bool repair) override;
  Result<void> backup(const std::filesystem::path& dir) override;

  std::uint64_t last_commit() override;
  Result<ModSeq> wait_for_change(MailboxId mailbox, ModSeq since, std::chrono::milliseconds timeout) override;
  std::unique_ptr<Watcher> watch() override;
  Result<ModSeqSnapshot> highest_modseqs(const std::vector<MailboxId>& mailboxes) override;

  // ---- transaction runners: catch internal exceptions, map to Errc, grow the map.
  template <class F>
  auto run_read(F&& f) -> Result<decltype(f(std::declval<Txn&>()))>;
  template <class F>
  auto run_write(F&& f, Durability durability = Durability::full) -> Result<decltype(f(std::declval<Txn&>()))>;

  // ---- helpers used inside a txn (throw on failure)
  std::uint64_t next_id(Txn& t, std::string_view counter);
  std::uint32_t uidvalidity_base(Txn& t);
  std::optional<AccountId> account_id(Txn& t, std::string_view address);
  AccountRec load_account(Txn& t, AccountId id);  // throws not_found
  void save_account(Txn& t, const AccountRec& a);
  AccountRec account_by_address(Txn& t, std::string_view address);  // normalizes; not_found
  std::optional<MailboxId> mailbox_id(Txn& t, AccountId account, std::string_view canon_name);
  MailboxRec load_mailbox(Txn& t, MailboxId id);  // throws no_such_mailbox
  // What the API returns for a mailbox: its record plus `subscribed` from subs.
  MailboxInfo mailbox_info(Txn& t, MailboxRec&& m);
  // fn over the messages of `mailbox` with a UID in range, ascending, until it returns false.
  void scan_messages(Txn& t, MailboxId mailbox, UidRange range, const std::function<bool(const MessageMeta&)>& fn);
  bool is_subscribed(Txn& t, AccountId account, std::string_view canon_name);
  void migrate_subscriptions(Txn& t);  // schema 1 → 2
  void build_modseq_index(Txn& t);     // schema 3 → 4
  // The by_modseq entry of a message: put when it is written with a new MODSEQ, the old
  // one dropped (0: none).
  void index_modseq(Txn& t, MailboxId mailbox, Uid uid, ModSeq old_modseq, ModSeq new_modseq);
  std::vector<std::pair<Uid, MsgRec>> messages_in(Txn& t, MailboxId mailbox, const UidSet& uids);
  void save_mailbox(Txn& t, const MailboxRec& m);
  MailboxId create_mailbox_txn(Txn& t, AccountId account, std::string_view canon_name, SpecialUse use,
                               bool subscribed);
  void delete_mailbox_txn(Txn& t, MailboxRec& m, AccountRec& a);
  void blob_unref(Txn& t, BlobId blob);
  void blob_ref(Txn& t, BlobId blob);
  BlobId store_blob(Txn& t, const PreparedBody& body);
  // Appends a message; throws quota_exceeded (nothing written then).
  Uid append_message(Txn& t, MailboxRec& m, AccountRec& a, BlobId blob, std::uint64_t size,
                     UnixTime idate, std::uint32_t flags, std::string_view keywords);
  // Removes one message record (its blob ref, counters); does not record the change.
  void remove_message(Txn& t, MailboxRec& m, AccountRec& a, Uid uid, const MsgRec& rec);
  void record_vanished(Txn& t, MailboxId mailbox, ModSeq modseq, const std::vector<Uid>& uids);
  void put_events(Txn& t, const std::vector<DeliveryEvent>& events, UnixTime now);
  QueueId put_queue(Txn& t, const OutboundEntry& e, BlobId blob, std::uint64_t size, UnixTime now);
  void apply_queue_change(Txn& t, const QueueChange& c);
  void deliver_txn(Txn& t, const PreparedBody& body, DeliveryResult& out);
  // The local hops of one address for resolution/loop detection (see resolve()).
  struct Hops {
    bool is_account = false;
    bool enabled = true;
    AccountId account = 0;
    std::vector<std::string> targets;  // alias / catch-all targets
    bool found = false;
  };
  Hops hops(Txn& t, const std::string& address);
  std::optional<Forwarding> forwarding_of(Txn& t, AccountId account);
  void resolve_into(Txn& t, const std::string& address, int depth, std::vector<std::string>& seen,
                    Resolution& out, bool& saw_disabled);
  std::vector<CheckIssue> check_txn(Txn& t, bool repair);

  MDB_env* env() const { return env_; }
  const Dbis& db() const { return db_; }

 private:
  void grow_map();
  void refresh_map_size();
  Result<DeliveryResult> deliver_grouped(const PreparedBody& body, Durability durability);
  // deliver() with the given durability (update_queue: duplicate_safe).
  Result<DeliveryResult> deliver_as(const DeliveryRequest& request, Durability durability);

  MDB_env* env_ = nullptr;
  Dbis db_{};
  bool have_subs_ = false;  // false only for a read-only open of a schema-1 store
  bool have_modseq_index_ = false;  // false only for a read-only open of a schema-3 store
  StoreOptions options_;
  std::filesystem::path dir_;
  std::mutex write_mu_;           // one writer per process (LMDB's lock is per env)
  std::shared_mutex env_mu_;      // shared by every txn; unique to change the map size

  // Group commit state
  struct Job {
    const PreparedBody* body;
    Durability durability;  // the group's commit is duplicate_safe only if every job's is
    std::optional<Result<DeliveryResult>> result;
  };
  std::mutex group_mu_;
  std::condition_variable group_cv_;
  std::vector<Job*> pending_;
  bool leader_active_ = false;
};

std::string canon_mailbox_name(std::string_view name);  // "inbox/x" → "INBOX/x"
bool valid_mailbox_name(std::string_view canon);
UnixTime now_seconds();

}  // namespace tern::store::lmdb

// ---- template definitions
namespace tern::store::lmdb {

template <class F>
auto LmdbStore::run_read(F&& f) -> Result<decltype(f(std::declval<Txn&>()))> {
  using R = decltype(f(std::declval<Txn&>()));
  for (int attempt = 0;; ++attempt) {
    try {
      std::shared_lock el(env_mu_);
      Txn t(env_, false);
      if constexpr (std::is_void_v<R>) {
        f(t);
        return {};
      } else {
        return R(f(t));
      }
    } catch (const MdbError& e) {
      if (e.rc == MDB_READERS_FULL && attempt < 2) {
        int dead = 0;
        mdb_reader_check(env_, &dead);  // slots of killed processes, then retry
        continue;
      }
      if (e.rc != MDB_MAP_RESIZED || attempt >= 4) return map_rc(e.rc);
    } catch (const StoreError& e) {
      return e.errc;
    } catch (const CorruptRecord&) {
      return Errc::corrupt;
    } catch (const std::exception&) {  // bad_alloc, filesystem errors: retry later
      return Errc::io_error;
    }
    refresh_map_size();
  }
}

template <class F>
auto LmdbStore::run_write(F&& f, Durability durability) -> Result<decltype(f(std::declval<Txn&>()))> {
  using R = decltype(f(std::declval<Txn&>()));
  if (options_.read_only) return Errc::not_permitted;
  std::lock_guard wl(write_mu_);
  MetaSyncDeferral nometasync(env_, durability == Durability::duplicate_safe);  // under write_mu_
  for (int attempt = 0;; ++attempt) {
    int grow = 0;
    try {
      std::shared_lock el(env_mu_);
      Txn t(env_, true);
      if constexpr (std::is_void_v<R>) {
        f(t);
        t.commit();
        return {};
      } else {
        R r = f(t);
        t.commit();
        return r;
      }
    } catch (const MdbError& e) {
      if (e.rc == MDB_READERS_FULL && attempt < 2) {
        int dead = 0;
        mdb_reader_check(env_, &dead);
        continue;
      }
      if ((e.rc != MDB_MAP_FULL && e.rc != MDB_MAP_RESIZED) || attempt >= 6) return map_rc(e.rc);
      grow = e.rc;
    } catch (const StoreError& e) {
      return e.errc;
    } catch (const CorruptRecord&) {
      return Errc::corrupt;
    } catch (const std::exception&) {  // bad_alloc, filesystem errors: retry later
      return Errc::io_error;
    }
    // The txn is aborted here (no txn of ours open in this thread; other threads'
    // readers are excluded by env_mu_ inside grow_map/refresh_map_size).
    if (grow == MDB_MAP_FULL)
      grow_map();
    else
      refresh_map_size();
  }
}

}  // namespace tern::store::lmdb
