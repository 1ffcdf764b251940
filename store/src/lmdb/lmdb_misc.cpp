// Outbound queue, settings, delivery events, stats, check/repair, backup and change
// notification.
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "lmdb_store.hpp"

namespace tern::store::lmdb {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string due_key(UnixTime next, QueueId id) {
  return key_u64_u64(static_cast<std::uint64_t>(std::max<UnixTime>(next, 0)), id);
}

std::string dkim_key(std::string_view domain, std::string_view selector) {
  return std::string(domain) + std::string(1, '\0') + std::string(selector);
}

}  // namespace

// ---------------------------------------------------------------- queue
QueueId LmdbStore::put_queue(Txn& t, const OutboundEntry& e, BlobId blob, std::uint64_t size, UnixTime now) {
  QueueEntry q;
  q.id = next_id(t, "next_queue");
  q.sender = e.sender;
  q.recipient = e.recipient;
  q.dsn = e.dsn;
  q.blob = blob;
  q.size = size;
  q.created = now;
  q.next_attempt = e.next_attempt ? e.next_attempt : now;
  q.message_id = e.message_id;
  q.flags = e.flags;
  t.put(db_.queue, key_u64(q.id), encode_queue(q));
  t.put(db_.queue_due, due_key(q.next_attempt, q.id), "");
  return q.id;
}

Result<std::vector<QueueEntry>> LmdbStore::due_queue(UnixTime now, std::size_t limit) {
  return run_read([&](Txn& t) {
    std::vector<QueueEntry> out;
    Cursor c(t, db_.queue_due);
    for (bool ok = c.first(); ok && out.size() < limit; ok = c.next()) {
      if (static_cast<UnixTime>(get_u64(c.key())) > now) break;
      QueueId id = get_u64(c.key(), 8);
      auto v = t.get(db_.queue, key_u64(id));
      if (!v) continue;  // check() reports the stale index entry
      out.push_back(decode_queue(id, *v));
    }
    return out;
  });
}

Result<void> LmdbStore::reschedule(QueueId id, UnixTime next, std::string_view error) {
  return run_write([&](Txn& t) {
    auto v = t.get(db_.queue, key_u64(id));
    if (!v) fail(Errc::not_found);
    QueueEntry q = decode_queue(id, *v);
    t.del(db_.queue_due, due_key(q.next_attempt, id));
    q.attempts += 1;
    q.last_error = std::string(error.substr(0, 1000));
    q.next_attempt = next;
    t.put(db_.queue, key_u64(id), encode_queue(q));
    t.put(db_.queue_due, due_key(q.next_attempt, id), "");
  });
}

Result<void> LmdbStore::remove_queue(QueueId id) {
  return run_write([&](Txn& t) {
    auto v = t.get(db_.queue, key_u64(id));
    if (!v) fail(Errc::not_found);
    QueueEntry q = decode_queue(id, *v);
    t.del(db_.queue_due, due_key(q.next_attempt, id));
    t.del(db_.queue, key_u64(id));
    blob_unref(t, q.blob);
  });
}

void LmdbStore::apply_queue_change(Txn& t, const QueueChange& c) {
  auto v = t.get(db_.queue, key_u64(c.id));
  if (!v) return;  // deleted meanwhile (ternctl queue delete): nothing to do
  QueueEntry q = decode_queue(c.id, *v);
  t.del(db_.queue_due, due_key(q.next_attempt, c.id));
  if (c.op == QueueChange::Op::remove) {
    t.del(db_.queue, key_u64(c.id));
    blob_unref(t, q.blob);
    return;
  }
  q.attempts += 1;
  q.last_error = c.error.substr(0, 1000);
  q.next_attempt = c.next_attempt;
  q.flags |= c.set_flags;
  t.put(db_.queue, key_u64(c.id), encode_queue(q));
  t.put(db_.queue_due, due_key(q.next_attempt, c.id), "");
}

Result<void> LmdbStore::update_queue(const std::vector<QueueChange>& changes,
                                     const std::vector<DeliveryEvent>& events) {
  DeliveryRequest r;
  r.queue_changes = changes;
  r.events = events;
  // The outbound results: undoing this commit sends again or retries early, never
  // loses mail (store.hpp), so it need not wait for the meta-page sync.
  auto res = deliver_as(r, Durability::duplicate_safe);
  if (!res) return res.error();
  return {};
}

Result<std::size_t> LmdbStore::flush_queue(QueueId id) {
  return run_write([&](Txn& t) {
    std::vector<QueueEntry> to_flush;
    if (id) {
      auto v = t.get(db_.queue, key_u64(id));
      if (!v) fail(Errc::not_found);
      to_flush.push_back(decode_queue(id, *v));
    } else {
      Cursor c(t, db_.queue);
      for (bool ok = c.first(); ok; ok = c.next()) to_flush.push_back(decode_queue(get_u64(c.key()), c.val()));
    }
    UnixTime now = now_seconds();
    std::size_t n = 0;
    for (auto& q : to_flush) {
      if (q.next_attempt <= now) continue;
      t.del(db_.queue_due, due_key(q.next_attempt, q.id));
      q.next_attempt = now;
      t.put(db_.queue, key_u64(q.id), encode_queue(q));
      t.put(db_.queue_due, due_key(q.next_attempt, q.id), "");
      ++n;
    }
    return n;
  });
}

Result<std::string> LmdbStore::srs_secret() {
  auto cur = run_read([&](Txn& t) -> std::string {
    auto v = t.get(db_.meta, "srs_secret");
    return v ? std::string(*v) : std::string();
  });
  if (!cur) return cur.error();
  if (!cur->empty()) return *cur;
  return run_write([&](Txn& t) -> std::string {
    if (auto v = t.get(db_.meta, "srs_secret")) return std::string(*v);  // another process won
    std::string key(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32) != 1) fail(Errc::io_error);
    t.put(db_.meta, "srs_secret", key);
    return key;
  });
}

Result<QueueEntry> LmdbStore::get_queue(QueueId id) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.queue, key_u64(id));
    if (!v) fail(Errc::not_found);
    return decode_queue(id, *v);
  });
}

Result<std::vector<QueueEntry>> LmdbStore::list_queue() {
  return run_read([&](Txn& t) {
    std::vector<QueueEntry> out;
    Cursor c(t, db_.queue);
    for (bool ok = c.first(); ok; ok = c.next()) out.push_back(decode_queue(get_u64(c.key()), c.val()));
    return out;
  });
}

// ---------------------------------------------------------------- settings
Result<void> LmdbStore::set_autoreply(std::string_view address, const AutoReply& reply) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    if (reply.subject.find_first_of("\r\n") != std::string::npos) fail(Errc::invalid_argument);
    if (reply.end != 0 && reply.end <= reply.start) fail(Errc::invalid_argument);
    // start/end were added after schema 1's first records: readers treat them as optional.
    t.put(db_.autoreply, key_u64(a.a.id),
          Writer().str(reply.subject).str(reply.body).u32(reply.days).i64(reply.start).i64(reply.end).take());
  });
}

Result<void> LmdbStore::clear_autoreply(std::string_view address) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    t.del(db_.autoreply, key_u64(a.a.id));
  });
}

Result<std::optional<AutoReply>> LmdbStore::get_autoreply(std::string_view address) {
  return run_read([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    std::optional<AutoReply> out;
    if (auto v = t.get(db_.autoreply, key_u64(a.a.id))) {
      Reader r(*v);
      AutoReply ar;
      ar.subject = r.str();
      ar.body = r.str();
      ar.days = r.u32();
      if (!r.empty()) {
        ar.start = r.i64();
        ar.end = r.i64();
      }
      out = std::move(ar);
    }
    return out;
  });
}

Result<bool> LmdbStore::claim_autoreply(AccountId account, std::string_view sender, UnixTime now) {
  return run_write([&](Txn& t) {
    auto v = t.get(db_.autoreply, key_u64(account));
    if (!v) return false;
    Reader r(*v);
    r.str();
    r.str();
    std::uint32_t days = r.u32();
    if (!r.empty()) {
      UnixTime start = r.i64(), end = r.i64();
      if (now < start || (end != 0 && now >= end)) return false;
    }
    std::string key = key_u64_str(account, lower(sender));
    if (auto last = t.get(db_.ar_log, key)) {
      auto then = static_cast<UnixTime>(get_u64(*last));
      // RFC 3834 5.2 / RFC 5230 4.1: at most one reply per sender per `days`.
      if (now - then < static_cast<UnixTime>(days) * 86400) return false;
    }
    t.put(db_.ar_log, key, key_u64(static_cast<std::uint64_t>(now)));
    return true;
  });
}

Result<void> LmdbStore::put_dkim_key(const DkimKey& key) {
  return run_write([&](Txn& t) {
    auto d = normalize_domain(key.domain);
    if (!d || key.selector.empty() || key.selector.find('\0') != std::string::npos) fail(Errc::invalid_argument);
    if (!t.get(db_.domains, *d)) fail(Errc::unknown_domain);
    UnixTime created = key.created ? key.created : now_seconds();
    t.put(db_.dkim, dkim_key(*d, key.selector),
          Writer().str(*d).str(key.selector).str(key.algorithm).str(key.private_key_pem).i64(created).take());
  });
}

Result<void> LmdbStore::add_dkim_keys(const std::vector<DkimKey>& keys) {
  return run_write([&](Txn& t) {
    for (const auto& key : keys) {
      auto d = normalize_domain(key.domain);
      if (!d || key.selector.empty() || key.selector.find('\0') != std::string::npos) fail(Errc::invalid_argument);
      if (!t.get(db_.domains, *d)) fail(Errc::unknown_domain);
      // Taken before, or earlier in this list: the whole txn is dropped.
      if (t.get(db_.dkim, dkim_key(*d, key.selector))) fail(Errc::exists);
      UnixTime created = key.created ? key.created : now_seconds();
      t.put(db_.dkim, dkim_key(*d, key.selector),
            Writer().str(*d).str(key.selector).str(key.algorithm).str(key.private_key_pem).i64(created).take());
    }
  });
}

Result<std::vector<DkimKey>> LmdbStore::get_dkim_keys(std::string_view domain) {
  return run_read([&](Txn& t) {
    auto d = normalize_domain(domain);
    if (!d) fail(Errc::invalid_argument);
    std::vector<DkimKey> out;
    Cursor c(t, db_.dkim);
    std::string prefix = *d + std::string(1, '\0');
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
      Reader r(c.val());
      DkimKey k;
      k.domain = r.str();
      k.selector = r.str();
      k.algorithm = r.str();
      k.private_key_pem = r.str();
      k.created = r.i64();
      out.push_back(std::move(k));
    }
    return out;
  });
}

Result<void> LmdbStore::del_dkim_key(std::string_view domain, std::string_view selector) {
  return run_write([&](Txn& t) {
    auto d = normalize_domain(domain);
    if (!d) fail(Errc::invalid_argument);
    if (!t.del(db_.dkim, dkim_key(*d, selector))) fail(Errc::not_found);
  });
}

Result<void> LmdbStore::put_session(const WebSession& s) {
  return run_write([&](Txn& t) {
    if (s.token.empty() || s.token.size() > 256) fail(Errc::invalid_argument);
    UnixTime created = s.created ? s.created : now_seconds();
    t.put(db_.sessions, s.token,
          Writer().str(s.admin).str(s.csrf).i64(s.expires).i64(created).str(s.credential).take());
  });
}

Result<WebSession> LmdbStore::get_session(std::string_view token, UnixTime now) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.sessions, token);
    if (!v) fail(Errc::not_found);
    Reader r(*v);
    WebSession s;
    s.token = std::string(token);
    s.admin = r.str();
    s.csrf = r.str();
    s.expires = r.i64();
    if (!r.empty()) {
      s.created = r.i64();
      s.credential = r.str();
    }
    if (s.expires <= now) fail(Errc::not_found);
    return s;
  });
}

Result<void> LmdbStore::del_session(std::string_view token) {
  return run_write([&](Txn& t) {
    if (!t.del(db_.sessions, token)) fail(Errc::not_found);
  });
}

Result<std::size_t> LmdbStore::prune_sessions(UnixTime now) {
  return run_write([&](Txn& t) {
    std::size_t n = 0;
    Cursor c(t, db_.sessions);
    for (bool ok = c.first(); ok;) {
      Reader r(c.val());
      r.str();
      r.str();
      if (r.i64() <= now) {
        c.del();
        ++n;
        ok = c.next();  // after a delete LMDB's NEXT yields the following item
      } else {
        ok = c.next();
      }
    }
    return n;
  });
}

// ---------------------------------------------------------------- events
void LmdbStore::put_events(Txn& t, const std::vector<DeliveryEvent>& events, UnixTime now) {
  for (auto& e : events) {
    UnixTime time = e.time ? e.time : now;
    std::uint64_t seq = next_id(t, "next_event");
    t.put(db_.events, key_u64_u64(static_cast<std::uint64_t>(std::max<UnixTime>(time, 0)), seq),
          Writer()
              .str(e.message_id)
              .str(e.sender)
              .str(e.recipient)
              .u8(static_cast<std::uint8_t>(e.action))
              .str(e.detail.substr(0, 1000))
              .take());
  }
}

Result<void> LmdbStore::add_events(const std::vector<DeliveryEvent>& events) {
  return run_write([&](Txn& t) { put_events(t, events, now_seconds()); });
}

Result<std::vector<DeliveryEvent>> LmdbStore::recent_events(std::size_t limit) {
  return run_read([&](Txn& t) {
    std::vector<DeliveryEvent> out;
    Cursor c(t, db_.events);
    for (bool ok = c.last(); ok && out.size() < limit; ok = c.prev()) {
      Reader r(c.val());
      DeliveryEvent e;
      e.time = static_cast<UnixTime>(get_u64(c.key()));
      e.message_id = r.str();
      e.sender = r.str();
      e.recipient = r.str();
      e.action = static_cast<EventAction>(r.u8());
      e.detail = r.str();
      out.push_back(std::move(e));
    }
    return out;
  });
}

Result<void> LmdbStore::for_each_event(UnixTime since, UnixTime until,
                                        const std::function<bool(const DeliveryEvent&)>& fn) {
  return run_read([&](Txn& t) {
    Cursor c(t, db_.events);
    for (bool ok = c.seek(key_u64(static_cast<std::uint64_t>(std::max<UnixTime>(since, 0)))); ok; ok = c.next()) {
      DeliveryEvent e;
      e.time = static_cast<UnixTime>(get_u64(c.key()));
      if (e.time >= until) break;
      Reader r(c.val());
      e.message_id = r.str();
      e.sender = r.str();
      e.recipient = r.str();
      e.action = static_cast<EventAction>(r.u8());
      e.detail = r.str();
      if (!fn(e)) break;
    }
  });
}

Result<std::size_t> LmdbStore::prune_events(UnixTime before) {
  return run_write([&](Txn& t) {
    std::size_t n = 0;
    Cursor c(t, db_.events);
    for (bool ok = c.first(); ok && static_cast<UnixTime>(get_u64(c.key())) < before; ok = c.next()) {
      c.del();
      ++n;
    }
    return n;
  });
}

// ---------------------------------------------------------------- stats
Result<StoreStats> LmdbStore::stats() {
  return run_read([&](Txn& t) {
    StoreStats s;
    auto entries = [&](MDB_dbi d) {
      MDB_stat st{};
      check_rc(mdb_stat(t.get(), d, &st));
      return static_cast<std::uint64_t>(st.ms_entries);
    };
    s.domains = entries(db_.domains);
    s.accounts = entries(db_.accounts);
    s.aliases = entries(db_.aliases);
    s.mailboxes = entries(db_.mailboxes);
    s.messages = entries(db_.messages);
    s.blobs = entries(db_.blobs);
    s.queue = entries(db_.queue);
    s.events = entries(db_.events);
    Cursor c(t, db_.blobs);
    for (bool ok = c.first(); ok; ok = c.next()) s.blob_bytes += BlobRec::decode(c.val()).size;
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    MDB_stat est{};
    mdb_env_stat(env_, &est);
    s.used_bytes = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * est.ms_psize;
    s.last_txn = info.me_last_txnid;
    std::error_code ec;
    s.file_bytes = std::filesystem::file_size(dir_ / "data.mdb", ec);
    if (auto v = t.get(db_.meta, "schema")) s.schema_version = get_u32(*v);
    return s;
  });
}

// ---------------------------------------------------------------- check / repair
std::vector<CheckIssue> LmdbStore::check_txn(Txn& t, bool repair) {
  std::vector<CheckIssue> issues;
  auto issue = [&](std::string what, bool fixed) { issues.push_back(CheckIssue{std::move(what), fixed && repair}); };

  struct Box {
    std::uint32_t messages = 0, unseen = 0;
    std::uint64_t size = 0;
    Uid max_uid = 0;
    ModSeq max_modseq = 0;
  };
  std::map<BlobId, std::uint64_t> refs;
  std::map<MailboxId, Box> boxes;
  std::map<AccountId, Usage> usage;
  std::set<BlobId> blobs_present;
  {
    Cursor c(t, db_.blobs);
    for (bool ok = c.first(); ok; ok = c.next()) blobs_present.insert(get_u64(c.key()));
  }

  // Mailboxes and their name index.
  std::map<MailboxId, MailboxRec> mrecs;
  {
    Cursor c(t, db_.mailboxes);
    for (bool ok = c.first(); ok; ok = c.next()) {
      MailboxRec m = MailboxRec::decode(c.val());
      mrecs.emplace(m.m.id, m);
    }
  }
  // Messages.
  std::vector<std::string> missing_index;  // MODSEQ index entries to add (repair)
  {
    Cursor c(t, db_.messages);
    for (bool ok = c.first(); ok; ok = c.next()) {
      MailboxId mb = get_u64(c.key());
      Uid uid = get_u32(c.key(), 8);
      MsgRec rec = MsgRec::decode(c.val());
      if (!mrecs.count(mb)) {
        issue("message " + std::to_string(mb) + "/" + std::to_string(uid) + " belongs to no mailbox", false);
        continue;
      }
      if (!blobs_present.count(rec.blob))
        issue("message " + std::to_string(mb) + "/" + std::to_string(uid) + " refers to missing blob " +
                  std::to_string(rec.blob),
              false);
      refs[rec.blob] += 1;
      Box& b = boxes[mb];
      b.messages += 1;
      b.size += rec.size;
      if (!(rec.flags & kSeen)) b.unseen += 1;
      b.max_uid = std::max(b.max_uid, uid);
      b.max_modseq = std::max(b.max_modseq, rec.modseq);
      usage[mrecs[mb].m.account].bytes += rec.size;
      usage[mrecs[mb].m.account].messages += 1;
      if (have_modseq_index_ && !t.get(db_.by_modseq, key_u64_u64_u32(mb, rec.modseq, uid))) {
        issue("message " + std::to_string(mb) + "/" + std::to_string(uid) + " missing from the MODSEQ index", true);
        if (repair) missing_index.push_back(key_u64_u64_u32(mb, rec.modseq, uid));
      }
    }
  }
  // The MODSEQ index: one entry per message, with the message's current MODSEQ.
  if (have_modseq_index_) {
    std::vector<std::string> stale;
    Cursor c(t, db_.by_modseq);
    for (bool ok = c.first(); ok; ok = c.next()) {
      if (c.key().size() != 20) {
        stale.emplace_back(c.key());
        continue;
      }
      MailboxId mb = get_u64(c.key());
      ModSeq ms = get_u64(c.key(), 8);
      Uid uid = get_u32(c.key(), 16);
      auto v = t.get(db_.messages, key_u64_u32(mb, uid));
      if (!v || MsgRec::view(uid, *v).modseq != ms) stale.emplace_back(c.key());
    }
    for (auto& k : stale) {
      issue("stale MODSEQ index entry " + std::to_string(get_u64(k)) + "/" +
                (k.size() == 20 ? std::to_string(get_u32(k, 16)) : std::string("?")),
            true);
      if (repair) t.del(db_.by_modseq, k);
    }
    for (auto& k : missing_index) t.put(db_.by_modseq, k, std::string_view{});
  }
  {
    Cursor c(t, db_.changes);
    for (bool ok = c.first(); ok; ok = c.next()) {
      MailboxId mb = get_u64(c.key());
      boxes[mb].max_modseq = std::max(boxes[mb].max_modseq, get_u64(c.key(), 8));
    }
  }
  // Queue entries hold body refs too.
  {
    std::set<QueueId> ids;
    Cursor c(t, db_.queue);
    for (bool ok = c.first(); ok; ok = c.next()) {
      QueueEntry q = decode_queue(get_u64(c.key()), c.val());
      refs[q.blob] += 1;
      ids.insert(q.id);
      if (!t.get(db_.queue_due, due_key(q.next_attempt, q.id))) {
        issue("queue " + std::to_string(q.id) + " missing from the due index", true);
        if (repair) t.put(db_.queue_due, due_key(q.next_attempt, q.id), "");
      }
    }
    std::vector<std::string> stale;
    Cursor d(t, db_.queue_due);
    for (bool ok = d.first(); ok; ok = d.next())
      if (!ids.count(get_u64(d.key(), 8))) stale.emplace_back(d.key());
    for (auto& k : stale) {
      issue("due index entry for missing queue " + std::to_string(get_u64(k, 8)), true);
      if (repair) t.del(db_.queue_due, k);
    }
  }
  // Mailbox counters.
  for (auto& [id, m] : mrecs) {
    Box b = boxes[id];
    bool bad = false;
    std::string name = "mailbox " + std::to_string(id) + " (" + m.m.name + ")";
    if (m.m.messages != b.messages || m.m.size != b.size || m.m.unseen != b.unseen) {
      issue(name + " counters " + std::to_string(m.m.messages) + "/" + std::to_string(m.m.size) + "/" +
                std::to_string(m.m.unseen) + " != " + std::to_string(b.messages) + "/" + std::to_string(b.size) +
                "/" + std::to_string(b.unseen) + " (messages/size/unseen)",
            true);
      bad = true;
    }
    if (m.m.uidnext <= b.max_uid) {
      issue(name + " UIDNEXT " + std::to_string(m.m.uidnext) + " <= max UID " + std::to_string(b.max_uid), true);
      bad = true;
    }
    if (m.m.highestmodseq < b.max_modseq) {
      issue(name + " HIGHESTMODSEQ " + std::to_string(m.m.highestmodseq) + " < " + std::to_string(b.max_modseq),
            true);
      bad = true;
    }
    auto nid = mailbox_id(t, m.m.account, m.m.name);
    if (!nid || *nid != id) {
      issue(name + " missing from the name index", true);
      if (repair) t.put(db_.mbox_names, key_u64_str(m.m.account, m.m.name), key_u64(id));
    }
    if (!t.get(db_.accounts, key_u64(m.m.account))) issue(name + " belongs to missing account", false);
    if (bad && repair) {
      m.m.messages = b.messages;
      m.m.size = b.size;
      m.m.unseen = b.unseen;
      m.m.uidnext = std::max<Uid>(m.m.uidnext, b.max_uid + 1);
      m.m.highestmodseq = std::max(m.m.highestmodseq, b.max_modseq);
      save_mailbox(t, m);
    }
  }
  {
    std::vector<std::string> stale;
    Cursor c(t, db_.mbox_names);
    for (bool ok = c.first(); ok; ok = c.next()) {
      auto it = mrecs.find(get_u64(c.val()));
      if (it == mrecs.end() || it->second.m.name != c.key().substr(8)) stale.emplace_back(c.key());
    }
    for (auto& k : stale) {
      issue("stale mailbox name index entry " + k.substr(8), true);
      if (repair) t.del(db_.mbox_names, k);
    }
  }
  // Account usage.
  {
    std::vector<AccountRec> fix;
    Cursor c(t, db_.accounts);
    for (bool ok = c.first(); ok; ok = c.next()) {
      AccountRec a = AccountRec::decode(c.val());
      Usage u = usage[a.a.id];
      if (a.a.usage.bytes != u.bytes || a.a.usage.messages != u.messages) {
        issue("account " + a.a.address + " usage " + std::to_string(a.a.usage.bytes) + "B/" +
                  std::to_string(a.a.usage.messages) + " != " + std::to_string(u.bytes) + "B/" +
                  std::to_string(u.messages) + " (sum of messages)",
              true);
        a.a.usage = u;
        fix.push_back(a);
      }
    }
    if (repair)
      for (auto& a : fix) save_account(t, a);
  }
  // Blobs: refcounts, orphans, chunks.
  std::map<BlobId, std::pair<std::uint32_t, std::uint64_t>> chunk_stats;
  std::set<BlobId> orphan_chunks;
  {
    Cursor c(t, db_.chunks);
    for (bool ok = c.first(); ok; ok = c.next()) {
      BlobId b = get_u64(c.key());
      auto& s = chunk_stats[b];
      s.first += 1;
      s.second += c.val().size();
      if (!blobs_present.count(b)) orphan_chunks.insert(b);
    }
  }
  {
    std::vector<BlobId> orphans;
    std::vector<std::pair<BlobId, BlobRec>> fix;
    Cursor c(t, db_.blobs);
    for (bool ok = c.first(); ok; ok = c.next()) {
      BlobId id = get_u64(c.key());
      BlobRec b = BlobRec::decode(c.val());
      std::uint64_t want = refs.count(id) ? refs[id] : 0;
      if (want == 0) {
        issue("orphan blob " + std::to_string(id) + " (" + std::to_string(b.size) + " bytes, refcount " +
                  std::to_string(b.refcount) + ")",
              true);
        orphans.push_back(id);
        continue;
      }
      if (b.refcount != want) {
        issue("blob " + std::to_string(id) + " refcount " + std::to_string(b.refcount) + " != " +
                  std::to_string(want) + " references",
              true);
        b.refcount = want;
        fix.emplace_back(id, b);
      }
      auto cs = chunk_stats[id];
      if (cs.first != b.chunks || cs.second != b.size)
        issue("blob " + std::to_string(id) + " chunks " + std::to_string(cs.first) + "/" + std::to_string(cs.second) +
                  "B != " + std::to_string(b.chunks) + "/" + std::to_string(b.size) + "B",
              false);
      auto h = t.get(db_.blob_hash, b.hash);
      if (!h || get_u64(*h) != id) {
        issue("blob " + std::to_string(id) + " missing from the hash index", true);
        if (repair) t.put(db_.blob_hash, b.hash, key_u64(id));
      }
    }
    if (repair) {
      for (auto& [id, b] : fix) t.put(db_.blobs, key_u64(id), b.encode());
      for (BlobId id : orphans) {
        BlobRec b = BlobRec::decode(*t.get(db_.blobs, key_u64(id)));
        b.refcount = 1;
        t.put(db_.blobs, key_u64(id), b.encode());
        blob_unref(t, id);  // drops chunks, hash entry, record
      }
    }
  }
  for (BlobId b : orphan_chunks) {
    issue("orphan chunks of missing blob " + std::to_string(b), true);
    if (repair) {
      Cursor c(t, db_.chunks);
      std::string prefix = key_u64(b);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
    }
  }
  {
    // Cached parsed structures of blobs that are gone (an older binary deleted the blob).
    std::set<BlobId> orphan_meta;
    Cursor c(t, db_.blob_meta);
    for (bool ok = c.first(); ok; ok = c.next()) {
      BlobId b = get_u64(c.key().substr(0, 8));
      if (!blobs_present.count(b)) orphan_meta.insert(b);
    }
    for (BlobId b : orphan_meta) {
      issue("orphan cached structure of missing blob " + std::to_string(b), true);
      if (repair) {
        Cursor d(t, db_.blob_meta);
        std::string prefix = key_u64(b);
        for (bool ok = d.seek(prefix); ok && d.key().starts_with(prefix); ok = d.next()) d.del();
      }
    }
  }
  {
    std::vector<std::string> stale;
    Cursor c(t, db_.blob_hash);
    for (bool ok = c.first(); ok; ok = c.next())
      if (!blobs_present.count(get_u64(c.val()))) stale.emplace_back(c.key());
    for (auto& k : stale) {
      issue("hash index entry for missing blob", true);
      if (repair) t.del(db_.blob_hash, k);
    }
  }
  return issues;
}

Result<std::vector<CheckIssue>> LmdbStore::check(bool repair) {
  if (repair) return run_write([&](Txn& t) { return check_txn(t, true); });
  return run_read([&](Txn& t) { return check_txn(t, false); });
}

// ---------------------------------------------------------------- backup
Result<void> LmdbStore::backup(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path target = dir / "store";
  std::filesystem::create_directories(target, ec);
  if (ec) return Errc::io_error;
  if (!std::filesystem::is_empty(target, ec) || ec) return Errc::exists;
  std::shared_lock el(env_mu_);
  // MDB_CP_COMPACT copies only live pages, in a read txn: consistent while writers run.
  int rc = mdb_env_copy2(env_, target.c_str(), MDB_CP_COMPACT);
  if (rc) return map_rc(rc);
  return {};
}

// ---------------------------------------------------------------- notification
namespace {

// inotify on data.mdb: LMDB (without MDB_WRITEMAP) pwrite()s pages and the meta page
// at each commit, which raises IN_MODIFY for every process (library-notes §5).
class InotifyWatcher final : public Store::Watcher {
 public:
  explicit InotifyWatcher(const std::filesystem::path& file) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd_ >= 0 && inotify_add_watch(fd_, file.c_str(), IN_MODIFY) < 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~InotifyWatcher() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const override { return fd_; }
  void drain() override {
    if (fd_ < 0) return;
    char buf[4096];
    while (::read(fd_, buf, sizeof buf) > 0) {
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace

std::unique_ptr<Store::Watcher> LmdbStore::watch() { return std::make_unique<InotifyWatcher>(dir_ / "data.mdb"); }

Result<Store::ModSeqSnapshot> LmdbStore::highest_modseqs(const std::vector<MailboxId>& mailboxes) {
  return run_read([&](Txn& t) {
    ModSeqSnapshot snap;
    snap.txn = mdb_txn_id(t.get());
    snap.values.reserve(mailboxes.size());
    for (MailboxId id : mailboxes) {
      auto v = t.get(db_.mailboxes, key_u64(id));
      if (v)
        snap.values.push_back(MailboxRec::decode(*v).m.highestmodseq);
      else
        snap.values.push_back(std::nullopt);
    }
    return snap;
  });
}

std::uint64_t LmdbStore::last_commit() {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_last_txnid;
}

Result<ModSeq> LmdbStore::wait_for_change(MailboxId mailbox, ModSeq since, std::chrono::milliseconds timeout) {
  InotifyWatcher w(dir_ / "data.mdb");  // before the first look: no commit is missed
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint64_t seen_txn = 0;
  for (;;) {
    if (last_commit() != seen_txn) {
      // Remember the txn our read actually saw, not me_last_txnid: the meta page can
      // show a commit a moment before a new read txn can see it.
      auto m = run_read([&](Txn& t) {
        return std::pair<std::uint64_t, ModSeq>(mdb_txn_id(t.get()), load_mailbox(t, mailbox).m.highestmodseq);
      });
      if (!m) return m.error();
      seen_txn = m->first;
      if (m->second > since) return m->second;
    }
    // ceil: never return before the full timeout has passed.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      auto m = get_mailbox(mailbox);
      if (!m) return m.error();
      return m->highestmodseq;
    }
    // Poll fallback: look again at least every 50 ms even without an inotify event.
    int ms = static_cast<int>(std::min<std::int64_t>(left.count(), 50));
    if (w.fd() >= 0) {
      pollfd p{w.fd(), POLLIN, 0};
      ::poll(&p, 1, ms);
      w.drain();
    } else {
      ::usleep(static_cast<useconds_t>(ms) * 1000);
    }
  }
}

}  // namespace tern::store::lmdb
