// LMDB environment, transactions, cursors, record codecs and Store::open.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <system_error>

#include "lmdb_store.hpp"
#include "tern/log/assert.hpp"

namespace tern::store {

Result<StorePtr> Store::open(const std::filesystem::path& data_dir, const StoreOptions& options) {
  auto s = std::make_unique<lmdb::LmdbStore>();
  if (auto r = s->open_env(data_dir, options); !r) return r.error();
  return StorePtr(std::move(s));
}

}  // namespace tern::store

namespace tern::store::lmdb {

UnixTime now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Errc map_rc(int rc) {
  switch (rc) {
    case MDB_MAP_FULL: return Errc::map_full;
    case ENOSPC: return Errc::disk_full;
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_BAD_RSLOT:
    case EBUSY:
    case EAGAIN: return Errc::busy;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_PANIC:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return Errc::corrupt;
    case MDB_NOTFOUND: return Errc::not_found;
    default: return Errc::io_error;
  }
}

// ---------------------------------------------------------------- durability
MetaSyncDeferral::MetaSyncDeferral(MDB_env* env, bool on) {
  if (!on) return;
  unsigned flags = 0;
  if (mdb_env_get_flags(env, &flags) != 0 || (flags & MDB_NOMETASYNC)) return;  // not ours to restore
  if (mdb_env_set_flags(env, MDB_NOMETASYNC, 1) == 0) env_ = env;  // else: a full commit, no harm
}
MetaSyncDeferral::~MetaSyncDeferral() {
  if (env_) mdb_env_set_flags(env_, MDB_NOMETASYNC, 0);
}

// ---------------------------------------------------------------- Txn / Cursor
Txn::Txn(MDB_env* env, bool write, MDB_txn* parent) : write_(write), owner_(std::this_thread::get_id()) {
  check_rc(mdb_txn_begin(env, parent, write ? 0 : MDB_RDONLY, &t_));
}
Txn::~Txn() { abort(); }
MDB_txn* Txn::get() const {
  TERN_ASSERT(t_ != nullptr);  // used after commit() or abort()
  TERN_ASSERT(!write_ || owner_ == std::this_thread::get_id());
  return t_;
}
void Txn::commit() {
  MDB_txn* t = get();
  t_ = nullptr;
  check_rc(mdb_txn_commit(t));  // frees the txn on error too
}
void Txn::abort() {
  if (t_) {
    TERN_ASSERT(!write_ || owner_ == std::this_thread::get_id());
    mdb_txn_abort(t_);
  }
  t_ = nullptr;
}
std::optional<std::string_view> Txn::get(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key), v{};
  int rc = mdb_get(get(), dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check_rc(rc);
  return from_val(v);
}
void Txn::put(MDB_dbi dbi, std::string_view key, std::string_view val, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(val);
  check_rc(mdb_put(get(), dbi, &k, &v, flags));
}
bool Txn::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(get(), dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check_rc(rc);
  return true;
}

Cursor::Cursor(Txn& txn, MDB_dbi dbi) { check_rc(mdb_cursor_open(txn.get(), dbi, &c_)); }
Cursor::~Cursor() { mdb_cursor_close(c_); }
bool Cursor::op(MDB_cursor_op o) {
  int rc = mdb_cursor_get(c_, &k_, &v_, o);
  if (rc == MDB_NOTFOUND) return false;
  check_rc(rc);
  return true;
}
bool Cursor::seek(std::string_view key) {
  k_ = to_val(key);
  return op(MDB_SET_RANGE);
}
bool Cursor::first() { return op(MDB_FIRST); }
bool Cursor::last() { return op(MDB_LAST); }
bool Cursor::next() { return op(MDB_NEXT); }
bool Cursor::prev() { return op(MDB_PREV); }
void Cursor::put(std::string_view key, std::string_view val, unsigned flags) {
  MDB_val k = to_val(key), v = to_val(val);
  check_rc(mdb_cursor_put(c_, &k, &v, flags));
}
void Cursor::del() { check_rc(mdb_cursor_del(c_, 0)); }

// ---------------------------------------------------------------- records
AccountRec AccountRec::decode(std::string_view v) {
  Reader r(v);
  AccountRec out;
  Account& a = out.a;
  a.id = r.u64();
  a.address = r.str();
  a.password_hash = r.str();
  if (r.u8()) {
    ScramCredential s;
    s.salt = r.str();
    s.iterations = r.u32();
    s.stored_key = r.str();
    s.server_key = r.str();
    a.scram = std::move(s);
  }
  a.enabled = r.u8() != 0;
  a.quota.bytes = r.u64();
  a.quota.messages = r.u64();
  a.usage.bytes = r.u64();
  a.usage.messages = r.u64();
  a.created = r.i64();
  return out;
}
std::string AccountRec::encode() const {
  Writer w;
  w.u64(a.id).str(a.address).str(a.password_hash);
  w.u8(a.scram ? 1 : 0);
  if (a.scram) w.str(a.scram->salt).u32(a.scram->iterations).str(a.scram->stored_key).str(a.scram->server_key);
  w.u8(a.enabled ? 1 : 0).u64(a.quota.bytes).u64(a.quota.messages).u64(a.usage.bytes).u64(a.usage.messages);
  w.i64(a.created);
  return w.take();
}

MailboxRec MailboxRec::decode(std::string_view v) {
  Reader r(v);
  MailboxRec out;
  MailboxInfo& m = out.m;
  m.id = r.u64();
  m.account = r.u64();
  m.name = r.str();
  m.uidvalidity = r.u32();
  m.uidnext = r.u32();
  m.highestmodseq = r.u64();
  m.special_use = static_cast<SpecialUse>(r.u8());
  m.subscribed = r.u8() != 0;  // schema 1 only (see encode)
  m.messages = r.u32();
  m.unseen = r.u32();
  m.size = r.u64();
  if (!r.empty()) {  // keywords: appended later; records written before have none
    std::uint32_t n = r.u32();
    if (n > kMaxMailboxKeywords) throw CorruptRecord();
    m.keywords.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) m.keywords.push_back(r.str());
  }
  // first_recent_uid: appended later; a record written before has no \Recent state,
  // and its messages are taken as seen by some session already (none is \Recent).
  m.first_recent_uid = r.empty() ? m.uidnext : r.u32();
  return out;
}
std::string MailboxRec::encode() const {
  Writer w;
  w.u64(m.id).u64(m.account).str(m.name).u32(m.uidvalidity).u32(m.uidnext).u64(m.highestmodseq);
  // The byte after special_use was the subscription flag in schema 1; subscriptions
  // live in "subs" since schema 2 and the byte is always 0 (decode() still reads it,
  // for the migration).
  w.u8(static_cast<std::uint8_t>(m.special_use)).u8(0);
  w.u32(m.messages).u32(m.unseen).u64(m.size);
  w.u32(static_cast<std::uint32_t>(m.keywords.size()));
  for (const auto& k : m.keywords) w.str(k);
  w.u32(m.first_recent_uid);
  return w.take();
}

MsgRec MsgRec::decode(std::string_view v) {
  Reader r(v);
  MsgRec m;
  m.modseq = r.u64();
  m.flags = r.u32();
  m.size = r.u64();
  m.idate = r.i64();
  m.blob = r.u64();
  m.keywords = r.str();
  return m;
}
MessageMeta MsgRec::view(Uid uid, std::string_view v) {
  // Fixed layout (see encode): modseq u64 @0, flags u32 @8, size u64 @12, idate i64 @20,
  // blob u64 @28, keywords length u32 @36 and bytes @40. Read at fixed offsets: this is
  // the loop of every SELECT (a 100,000-message mailbox decodes 100,000 of these).
  if (v.size() < 40) throw CorruptRecord();
  MessageMeta m;
  m.uid = uid;
  m.modseq = get_u64(v, 0);
  m.flags = get_u32(v, 8);
  m.size = get_u64(v, 12);
  m.internal_date = static_cast<UnixTime>(get_u64(v, 20));
  m.blob = get_u64(v, 28);
  std::uint32_t n = get_u32(v, 36);
  if (v.size() - 40 < n) throw CorruptRecord();
  m.keywords = v.substr(40, n);
  return m;
}
std::string MsgRec::encode() const {
  return Writer().u64(modseq).u32(flags).u64(size).i64(idate).u64(blob).str(keywords).take();
}

BlobRec BlobRec::decode(std::string_view v) {
  Reader r(v);
  BlobRec b;
  b.refcount = r.u64();
  b.size = r.u64();
  b.chunks = r.u32();
  b.hash = r.str();
  return b;
}
std::string BlobRec::encode() const { return Writer().u64(refcount).u64(size).u32(chunks).str(hash).take(); }

QueueEntry decode_queue(QueueId id, std::string_view v) {
  Reader r(v);
  QueueEntry q;
  q.id = id;
  q.sender = r.str();
  q.recipient = r.str();
  q.dsn.notify = r.str();
  q.dsn.orcpt = r.str();
  q.dsn.ret = r.str();
  q.dsn.envid = r.str();
  q.blob = r.u64();
  q.size = r.u64();
  q.created = r.i64();
  q.next_attempt = r.i64();
  q.attempts = r.u32();
  q.last_error = r.str();
  if (!r.empty()) {  // fields added later; older records end here
    q.message_id = r.str();
    q.flags = r.u32();
  }
  return q;
}
std::string encode_queue(const QueueEntry& q) {
  Writer w;
  w.str(q.sender).str(q.recipient).str(q.dsn.notify).str(q.dsn.orcpt).str(q.dsn.ret).str(q.dsn.envid);
  w.u64(q.blob).u64(q.size).i64(q.created).i64(q.next_attempt).u32(q.attempts).str(q.last_error);
  w.str(q.message_id).u32(q.flags);
  return w.take();
}

// ---------------------------------------------------------------- open
LmdbStore::~LmdbStore() {
  if (env_) mdb_env_close(env_);
}

Result<void> LmdbStore::open_env(const std::filesystem::path& data_dir, const StoreOptions& options) {
  options_ = options;
  dir_ = data_dir / "store";
  std::error_code ec;
  if (!options.read_only) std::filesystem::create_directories(dir_, ec);
  if (ec) return Errc::io_error;
  if (!std::filesystem::is_directory(dir_, ec)) return Errc::io_error;

  int rc = mdb_env_create(&env_);
  if (rc) return map_rc(rc);
  mdb_env_set_maxreaders(env_, options.max_readers);  // shared by all processes × threads
  mdb_env_set_maxdbs(env_, 32);
  rc = mdb_env_set_mapsize(env_, options.map_size);
  if (rc) return map_rc(rc);
  // MDB_NOTLS: read txns are not tied to a thread slot (thread pools); never MDB_NOSYNC.
  unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0u);
  rc = mdb_env_open(env_, dir_.c_str(), flags, 0660);
  if (rc) {
    mdb_env_close(env_);
    env_ = nullptr;
    return map_rc(rc);
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);  // slots left by killed processes

  // DBIs are opened once, in a committed txn (a DBI opened in an aborted txn is lost).
  try {
    Txn t(env_, !options.read_only);
    unsigned cf = options.read_only ? 0u : MDB_CREATE;
    auto open = [&](const char* name) {
      MDB_dbi d;
      check_rc(mdb_dbi_open(t.get(), name, cf, &d));
      return d;
    };
    db_.meta = open("meta");
    // Schema check before touching anything else.
    std::uint32_t version = 0;
    if (auto v = t.get(db_.meta, "schema")) version = get_u32(*v);
    if (version > kSchemaVersion) return Errc::schema_too_new;
    db_.domains = open("domains");
    db_.accounts = open("accounts");
    db_.acct_addr = open("acct_addr");
    db_.aliases = open("aliases");
    db_.admins = open("admins");
    db_.mailboxes = open("mailboxes");
    db_.mbox_names = open("mbox_names");
    db_.messages = open("messages");
    db_.blobs = open("blobs");
    db_.blob_hash = open("blob_hash");
    db_.chunks = open("chunks");
    db_.blob_meta = open("blob_meta");  // schema 2
    db_.changes = open("changes");
    db_.queue = open("queue");
    db_.queue_due = open("queue_due");
    db_.autoreply = open("autoreply");
    db_.ar_log = open("ar_log");
    db_.dkim = open("dkim");
    db_.sessions = open("sessions");
    db_.events = open("events");
    db_.forward = open("forward");  // added without a schema bump: an older binary ignores it
    if (options.read_only) {
      // A read-only open of a schema-3 store has no MODSEQ index (nor can build one):
      // changes_since() then scans the mailbox's messages.
      int rc2 = mdb_dbi_open(t.get(), "by_modseq", 0, &db_.by_modseq);
      if (rc2 != MDB_NOTFOUND) check_rc(rc2);
      have_modseq_index_ = rc2 == MDB_SUCCESS && version >= 4;
    } else {
      db_.by_modseq = open("by_modseq");  // schema 4
      have_modseq_index_ = true;
    }
    if (options.read_only) {
      // A read-only open of a schema-1 store cannot migrate nor create "subs": it then
      // shows no subscriptions (have_subs_ false).
      int rc2 = mdb_dbi_open(t.get(), "subs", 0, &db_.subs);
      if (rc2 != MDB_NOTFOUND) check_rc(rc2);
      have_subs_ = rc2 == MDB_SUCCESS;
    } else {
      db_.subs = open("subs");
      have_subs_ = true;
    }
    if (!options.read_only) {
      if (version == 0) {
        t.put(db_.meta, "schema", Writer().u32(kSchemaVersion).take());
        // UIDVALIDITY = base + mailbox id: unique for every mailbox ever created here,
        // and different from a store recreated later (RFC 9051 2.3.1.1).
        t.put(db_.meta, "uidv_base", Writer().u32(static_cast<std::uint32_t>(now_seconds() & 0x3fffffff)).take());
      }
      // Migrations from older schema versions (version < kSchemaVersion), in order,
      // in the same txn as the version bump.
      if (version == 1) {
        // 1 -> 2: blob_meta was created above (empty); mailbox records without the
        // keyword list decode as having none. Only the version changes.
        t.put(db_.meta, "schema", Writer().u32(2).take());
        version = 2;
      }
      if (version == 2) {
        // 2 -> 3: subscriptions move to "subs".
        migrate_subscriptions(t);
        t.put(db_.meta, "schema", Writer().u32(3).take());
        version = 3;
      }
      if (version == 3) {
        // 3 -> 4: the MODSEQ index, from every message record.
        build_modseq_index(t);
        t.put(db_.meta, "schema", Writer().u32(4).take());
        version = 4;
      }
    }
    t.commit();
  } catch (const MdbError& e) {
    return map_rc(e.rc);
  } catch (const CorruptRecord&) {
    return Errc::corrupt;
  }
  return {};
}

void LmdbStore::grow_map() {
  std::unique_lock el(env_mu_);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  mdb_env_set_mapsize(env_, info.me_mapsize * 2);
}

void LmdbStore::refresh_map_size() {
  std::unique_lock el(env_mu_);
  // 0 = adopt the size currently recorded in the file (set by another process).
  mdb_env_set_mapsize(env_, 0);
}

std::uint64_t LmdbStore::next_id(Txn& t, std::string_view counter) {
  std::uint64_t v = 1;
  if (auto cur = t.get(db_.meta, counter)) v = get_u64(*cur);
  t.put(db_.meta, counter, key_u64(v + 1));
  return v;
}

std::uint32_t LmdbStore::uidvalidity_base(Txn& t) {
  if (auto v = t.get(db_.meta, "uidv_base")) return get_u32(*v);
  return 1;
}

}  // namespace tern::store::lmdb
