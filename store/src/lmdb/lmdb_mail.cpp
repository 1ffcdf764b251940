// Delivery (with group commit), blobs, mailboxes and messages.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "lmdb_store.hpp"

namespace tern::store::lmdb {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Feeds prefix + body (string or file) to fn in pieces; throws io_error if the file
// can't be read.
template <class Fn>
void stream_body(const DeliveryRequest& r, Fn&& fn) {
  if (!r.prefix.empty()) fn(std::string_view(r.prefix));
  if (r.body_file.empty()) {
    if (!r.body.empty()) fn(std::string_view(r.body));
    return;
  }
  FilePtr f(std::fopen(r.body_file.c_str(), "rb"));
  if (!f) fail(Errc::io_error);
  std::string buf(64 * 1024, '\0');
  for (;;) {
    std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) fn(std::string_view(buf.data(), n));
    if (n < buf.size()) {
      if (std::ferror(f.get())) fail(Errc::io_error);
      break;
    }
  }
}

// Space-separated keyword list helpers (keywords compare case-insensitively,
// RFC 9051 2.3.2).
std::vector<std::string> split_keywords(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}
bool has_keyword(const std::vector<std::string>& ks, std::string_view k) {
  std::string lk = lower(k);
  for (auto& x : ks)
    if (lower(x) == lk) return true;
  return false;
}
std::string join_keywords(const std::vector<std::string>& ks) {
  std::string out;
  for (auto& k : ks) {
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

// Sorted, merged UID ranges.
UidSet normalize(UidSet s) {
  std::sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.first < b.first; });
  UidSet out;
  for (auto r : s) {
    if (r.first > r.last) std::swap(r.first, r.last);
    if (!out.empty() && r.first <= out.back().last + 1ull) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

MessageRecord to_record(Uid uid, const MsgRec& m) {
  return MessageRecord{uid, m.modseq, m.flags, m.keywords, m.size, m.idate, m.blob};
}

}  // namespace

std::string canon_mailbox_name(std::string_view name) {
  if (name.size() >= 5 && lower(name.substr(0, 5)) == "inbox" &&
      (name.size() == 5 || name[5] == kHierarchyDelimiter))
    return "INBOX" + std::string(name.substr(5));
  return std::string(name);
}

bool valid_mailbox_name(std::string_view n) {
  if (n.empty() || n.size() > 512) return false;
  if (n.front() == kHierarchyDelimiter || n.back() == kHierarchyDelimiter) return false;
  char prev = 0;
  for (char c : n) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '*' || c == '%') return false;
    if (c == kHierarchyDelimiter && prev == kHierarchyDelimiter) return false;
    prev = c;
  }
  return true;
}

// ---------------------------------------------------------------- blobs
void LmdbStore::blob_ref(Txn& t, BlobId blob) {
  auto v = t.get(db_.blobs, key_u64(blob));
  if (!v) fail(Errc::corrupt);
  BlobRec b = BlobRec::decode(*v);
  ++b.refcount;
  t.put(db_.blobs, key_u64(blob), b.encode());
}

void LmdbStore::blob_unref(Txn& t, BlobId blob) {
  auto v = t.get(db_.blobs, key_u64(blob));
  if (!v) return;  // already gone: check() reports the dangling reference
  BlobRec b = BlobRec::decode(*v);
  if (b.refcount > 1) {
    --b.refcount;
    t.put(db_.blobs, key_u64(blob), b.encode());
    return;
  }
  // Last reference: the chunks, the hash index and the record go.
  {
    Cursor c(t, db_.chunks);
    std::string prefix = key_u64(blob);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
  }
  {
    Cursor c(t, db_.blob_meta);
    std::string prefix = key_u64(blob);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
  }
  if (auto h = t.get(db_.blob_hash, b.hash); h && get_u64(*h) == blob) t.del(db_.blob_hash, b.hash);
  t.del(db_.blobs, key_u64(blob));
}

Result<void> LmdbStore::put_blob_meta(const std::vector<std::pair<BlobId, std::string>>& entries) {
  for (const auto& [blob, data] : entries)
    if (data.size() > kMaxBlobMeta) return Errc::invalid_argument;
  if (entries.empty()) return {};
  return run_write([&](Txn& t) {
    for (const auto& [blob, data] : entries) {
      if (!t.get(db_.blobs, key_u64(blob))) continue;  // expunged meanwhile
      Cursor c(t, db_.blob_meta);
      std::string prefix = key_u64(blob);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
      std::uint32_t n = 0;
      for (std::size_t off = 0; off < data.size() || n == 0; off += kChunkSize)
        t.put(db_.blob_meta, key_u64_u32(blob, n++), std::string_view(data).substr(std::min(off, data.size()), kChunkSize));
    }
  });
}

Result<std::optional<std::string>> LmdbStore::get_blob_meta(BlobId blob) {
  return run_read([&](Txn& t) -> std::optional<std::string> {
    Cursor c(t, db_.blob_meta);
    std::string prefix = key_u64(blob);
    std::optional<std::string> out;
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
      if (!out) out.emplace();
      out->append(c.val());
    }
    return out;
  });
}

// Stores the body once: an existing blob with the same SHA-256 gets `refs` more
// references; otherwise the body is written as fixed-size chunks (design §3).
BlobId LmdbStore::store_blob(Txn& t, const PreparedBody& body) {
  if (auto h = t.get(db_.blob_hash, body.hash)) {
    BlobId id = get_u64(*h);
    blob_ref(t, id);
    return id;
  }
  BlobId id = next_id(t, "next_blob");
  Cursor c(t, db_.chunks);
  std::string buf;
  buf.reserve(kChunkSize);
  std::uint32_t n = 0;
  std::uint64_t total = 0;
  // Blob ids only grow, so (id, n) keys always go at the end: MDB_APPEND fills pages.
  auto flush = [&] {
    c.put(key_u64_u32(id, n++), buf, MDB_APPEND);
    buf.clear();
  };
  stream_body(*body.req, [&](std::string_view piece) {
    total += piece.size();
    while (!piece.empty()) {
      std::size_t take = std::min(kChunkSize - buf.size(), piece.size());
      buf.append(piece.substr(0, take));
      piece.remove_prefix(take);
      if (buf.size() == kChunkSize) flush();
    }
  });
  if (!buf.empty()) flush();
  if (total != body.size) fail(Errc::io_error);  // the spool file changed since hashing
  BlobRec b;
  b.refcount = 1;
  b.size = total;
  b.chunks = n;
  b.hash = body.hash;
  t.put(db_.blobs, key_u64(id), b.encode());
  t.put(db_.blob_hash, body.hash, key_u64(id));
  return id;
}

// ---------------------------------------------------------------- delivery
void LmdbStore::deliver_txn(Txn& t, const PreparedBody& body, DeliveryResult& out) {
  const DeliveryRequest& req = *body.req;
  UnixTime now = now_seconds();
  UnixTime idate = req.internal_date ? req.internal_date : now;
  std::map<AccountId, AccountRec> accounts;
  std::map<MailboxId, MailboxRec> boxes;
  std::map<AccountId, Usage> projected;

  out = DeliveryResult{};
  out.targets.resize(req.targets.size());
  if (!req.only_if_queued.empty()) {
    out.skipped = std::none_of(req.only_if_queued.begin(), req.only_if_queued.end(),
                               [&](QueueId id) { return t.get(db_.queue, key_u64(id)).has_value(); });
    if (out.skipped) {
      for (auto& tr : out.targets) tr.error = make_error_code(Errc::not_found);
      for (const auto& c : req.queue_changes) apply_queue_change(t, c);
      put_events(t, req.events, now);
      return;
    }
  }
  std::vector<MailboxId> chosen(req.targets.size(), 0);
  std::size_t refs = 0;
  for (std::size_t i = 0; i < req.targets.size(); ++i) {
    const DeliveryTarget& tg = req.targets[i];
    TargetResult& tr = out.targets[i];
    auto ait = accounts.find(tg.account);
    if (ait == accounts.end()) {
      auto v = t.get(db_.accounts, key_u64(tg.account));
      if (!v) {
        tr.error = make_error_code(Errc::no_such_user);
        continue;
      }
      ait = accounts.emplace(tg.account, AccountRec::decode(*v)).first;
    }
    std::string name = canon_mailbox_name(tg.mailbox.empty() ? "INBOX" : tg.mailbox);
    auto mid = mailbox_id(t, tg.account, name);
    if (!mid && tg.fallback_to_inbox) mid = mailbox_id(t, tg.account, "INBOX");
    if (!mid) {
      tr.error = make_error_code(Errc::no_such_mailbox);
      continue;
    }
    // Quota: enforced here, in the txn that writes (RFC 9208 5.1 semantics: the write
    // that would exceed the limit fails).
    const Account& a = ait->second.a;
    Usage& p = projected[tg.account];
    if ((a.quota.bytes && a.usage.bytes + p.bytes + body.size > a.quota.bytes) ||
        (a.quota.messages && a.usage.messages + p.messages + 1 > a.quota.messages)) {
      tr.error = make_error_code(Errc::quota_exceeded);
      continue;
    }
    p.bytes += body.size;
    p.messages += 1;
    chosen[i] = *mid;
    ++refs;
  }
  refs += req.outbound.size();
  if (refs > 0) {
    BlobId blob = store_blob(t, body);
    // store_blob added one reference; the others are added here in one write.
    BlobRec b = BlobRec::decode(*t.get(db_.blobs, key_u64(blob)));
    b.refcount += refs - 1;
    t.put(db_.blobs, key_u64(blob), b.encode());
    out.blob = blob;
    for (std::size_t i = 0; i < req.targets.size(); ++i) {
      if (!chosen[i]) continue;
      auto bit = boxes.find(chosen[i]);
      if (bit == boxes.end()) bit = boxes.emplace(chosen[i], load_mailbox(t, chosen[i])).first;
      AccountRec& a = accounts.at(req.targets[i].account);
      TargetResult& tr = out.targets[i];
      tr.mailbox = chosen[i];
      tr.uidvalidity = bit->second.m.uidvalidity;
      tr.uid = append_message(t, bit->second, a, blob, body.size, idate, req.targets[i].flags,
                              req.targets[i].keywords);
    }
    for (auto& e : req.outbound) out.queued.push_back(put_queue(t, e, blob, body.size, now));
    for (auto& [id, m] : boxes) save_mailbox(t, m);
    for (auto& [id, a] : accounts) save_account(t, a);
  }
  for (const auto& c : req.queue_changes) apply_queue_change(t, c);
  put_events(t, req.events, now);
  put_events(t, req.body_events, now);
}

Result<DeliveryResult> LmdbStore::deliver(const DeliveryRequest& request) {
  return deliver_as(request, Durability::full);  // acknowledges mail: always full
}

Result<DeliveryResult> LmdbStore::deliver_as(const DeliveryRequest& request, Durability durability) {
  // Hash (and size) the body before taking any lock: the write txn only copies bytes.
  PreparedBody body;
  body.req = &request;
  try {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx) return Errc::io_error;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> guard(ctx, EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    stream_body(request, [&](std::string_view piece) {
      EVP_DigestUpdate(ctx, piece.data(), piece.size());
      body.size += piece.size();
    });
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    body.hash.assign(reinterpret_cast<char*>(md), len);
  } catch (const StoreError& e) {
    return e.errc;
  }
  if (!options_.group_commit) {
    return run_write(
        [&](Txn& t) {
          DeliveryResult out;
          deliver_txn(t, body, out);
          return out;
        },
        durability);
  }
  return deliver_grouped(body, durability);
}

// Group commit: the first caller to find no active leader becomes the leader, takes
// every queued delivery, runs each in a nested txn (a failing one is rolled back alone),
// commits once (one fsync) and hands each caller its result. Callers that queued while
// that commit was in flight form the next group.
Result<DeliveryResult> LmdbStore::deliver_grouped(const PreparedBody& body, Durability durability) {
  if (options_.read_only) return Errc::not_permitted;
  Job job{&body, durability, std::nullopt};
  std::unique_lock g(group_mu_);
  pending_.push_back(&job);
  while (!job.result) {
    if (leader_active_) {
      group_cv_.wait(g);
      continue;
    }
    leader_active_ = true;
    if (options_.group_window.count() > 0) {
      g.unlock();
      std::this_thread::sleep_for(options_.group_window);
      g.lock();
    }
    std::vector<Job*> batch;
    batch.swap(pending_);
    g.unlock();

    std::vector<std::optional<Result<DeliveryResult>>> results(batch.size());
    {
      std::lock_guard wl(write_mu_);
      // One job that needs a full commit (a delivery: it acknowledges mail) makes the
      // whole group's commit full.
      bool dup_safe = std::all_of(batch.begin(), batch.end(),
                                  [](const Job* j) { return j->durability == Durability::duplicate_safe; });
      MetaSyncDeferral nometasync(env_, dup_safe);  // under write_mu_ (lmdb_store.hpp)
      for (int attempt = 0;; ++attempt) {
        int grow = 0;
        try {
          std::shared_lock el(env_mu_);
          Txn parent(env_, true);
          std::vector<std::optional<Result<DeliveryResult>>> tmp(batch.size());
          for (std::size_t i = 0; i < batch.size(); ++i) {
            try {
              Txn child(env_, true, parent.get());
              DeliveryResult r;
              deliver_txn(child, *batch[i]->body, r);
              child.commit();
              tmp[i] = std::move(r);
            } catch (const StoreError& e) {
              tmp[i] = Result<DeliveryResult>(e.errc);
            } catch (const CorruptRecord&) {
              tmp[i] = Result<DeliveryResult>(Errc::corrupt);
            }
          }
          parent.commit();
          results = std::move(tmp);
          break;
        } catch (const MdbError& e) {
          if ((e.rc != MDB_MAP_FULL && e.rc != MDB_MAP_RESIZED) || attempt >= 6) {
            for (auto& r : results) r = Result<DeliveryResult>(map_rc(e.rc));
            break;
          }
          grow = e.rc;
        } catch (const std::exception&) {  // never leave the group without a leader
          for (auto& r : results) r = Result<DeliveryResult>(Errc::io_error);
          break;
        }
        if (grow == MDB_MAP_FULL)
          grow_map();
        else
          refresh_map_size();
      }
    }

    g.lock();
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = std::move(results[i]);
    leader_active_ = false;
    group_cv_.notify_all();
  }
  return std::move(*job.result);
}

Result<std::vector<QueueId>> LmdbStore::enqueue(const DeliveryRequest& request) {
  if (request.outbound.empty()) return Errc::invalid_argument;
  DeliveryRequest r;
  r.prefix = request.prefix;
  r.body = request.body;
  r.body_file = request.body_file;
  r.internal_date = request.internal_date;
  r.outbound = request.outbound;
  r.events = request.events;
  r.body_events = request.body_events;
  auto res = deliver(r);
  if (!res) return res.error();
  return std::move(res->queued);
}

// ---------------------------------------------------------------- mailboxes
std::optional<MailboxId> LmdbStore::mailbox_id(Txn& t, AccountId account, std::string_view canon) {
  auto v = t.get(db_.mbox_names, key_u64_str(account, canon));
  if (!v) return std::nullopt;
  return get_u64(*v);
}

MailboxRec LmdbStore::load_mailbox(Txn& t, MailboxId id) {
  auto v = t.get(db_.mailboxes, key_u64(id));
  if (!v) fail(Errc::no_such_mailbox);
  return MailboxRec::decode(*v);
}

void LmdbStore::save_mailbox(Txn& t, const MailboxRec& m) { t.put(db_.mailboxes, key_u64(m.m.id), m.encode()); }

bool LmdbStore::is_subscribed(Txn& t, AccountId account, std::string_view canon) {
  return have_subs_ && t.get(db_.subs, key_u64_str(account, canon)).has_value();
}

MailboxInfo LmdbStore::mailbox_info(Txn& t, MailboxRec&& m) {
  m.m.subscribed = is_subscribed(t, m.m.account, m.m.name);
  return std::move(m.m);
}

void LmdbStore::index_modseq(Txn& t, MailboxId mailbox, Uid uid, ModSeq old_modseq, ModSeq new_modseq) {
  if (old_modseq == new_modseq) return;
  if (old_modseq) t.del(db_.by_modseq, key_u64_u64_u32(mailbox, old_modseq, uid));
  t.put(db_.by_modseq, key_u64_u64_u32(mailbox, new_modseq, uid), std::string_view{});
}

void LmdbStore::build_modseq_index(Txn& t) {
  Cursor c(t, db_.messages);
  for (bool ok = c.first(); ok; ok = c.next()) {
    if (c.key().size() != 12) throw CorruptRecord();
    MessageMeta m = MsgRec::view(get_u32(c.key(), 8), c.val());
    t.put(db_.by_modseq, key_u64_u64_u32(get_u64(c.key()), m.modseq, m.uid), std::string_view{});
  }
}

void LmdbStore::migrate_subscriptions(Txn& t) {
  // Schema 1 kept a subscription flag in each mailbox record; move the flags to "subs"
  // and rewrite the records (flag byte 0, first_recent_uid = uidnext).
  std::vector<MailboxRec> recs;
  {
    Cursor c(t, db_.mailboxes);
    for (bool ok = c.first(); ok; ok = c.next()) recs.push_back(MailboxRec::decode(c.val()));
  }
  for (auto& m : recs) {
    if (m.m.subscribed) t.put(db_.subs, key_u64_str(m.m.account, m.m.name), std::string_view{});
    save_mailbox(t, m);
  }
}

MailboxId LmdbStore::create_mailbox_txn(Txn& t, AccountId account, std::string_view canon, SpecialUse use,
                                        bool subscribed) {
  if (mailbox_id(t, account, canon)) fail(Errc::exists);
  MailboxRec m;
  m.m.id = next_id(t, "next_mailbox");
  m.m.account = account;
  m.m.name = std::string(canon);
  m.m.uidvalidity = uidvalidity_base(t) + static_cast<std::uint32_t>(m.m.id);
  m.m.uidnext = 1;
  m.m.highestmodseq = 1;
  m.m.special_use = use;
  save_mailbox(t, m);
  t.put(db_.mbox_names, key_u64_str(account, canon), key_u64(m.m.id));
  if (subscribed) t.put(db_.subs, key_u64_str(account, canon), std::string_view{});
  return m.m.id;
}

void LmdbStore::delete_mailbox_txn(Txn& t, MailboxRec& m, AccountRec& a) {
  std::string prefix = key_u64(m.m.id);
  std::vector<std::pair<Uid, MsgRec>> msgs;
  {
    Cursor c(t, db_.messages);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
      msgs.emplace_back(get_u32(c.key(), 8), MsgRec::decode(c.val()));
  }
  for (auto& [uid, rec] : msgs) remove_message(t, m, a, uid, rec);
  {
    Cursor c(t, db_.changes);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
  }
  t.del(db_.mbox_names, key_u64_str(m.m.account, m.m.name));
  t.del(db_.mailboxes, prefix);
  save_account(t, a);
  // The subscription (if any) stays: RFC 9051 6.3.7, LIST shows it \NonExistent.
}

Result<MailboxId> LmdbStore::create_mailbox(AccountId account, std::string_view name, SpecialUse use) {
  return run_write([&](Txn& t) {
    std::string canon = canon_mailbox_name(name);
    if (!valid_mailbox_name(canon)) fail(Errc::invalid_argument);
    load_account(t, account);
    if (mailbox_id(t, account, canon)) fail(Errc::exists);
    // RFC 9051 6.3.4: create the superior names that are needed.
    for (std::size_t p = canon.find(kHierarchyDelimiter); p != std::string::npos;
         p = canon.find(kHierarchyDelimiter, p + 1)) {
      std::string parent = canon.substr(0, p);
      if (!mailbox_id(t, account, parent)) create_mailbox_txn(t, account, parent, SpecialUse::none, false);
    }
    return create_mailbox_txn(t, account, canon, use, false);
  });
}

Result<void> LmdbStore::rename_mailbox(AccountId account, std::string_view from, std::string_view to) {
  return run_write([&](Txn& t) {
    std::string f = canon_mailbox_name(from), n = canon_mailbox_name(to);
    if (!valid_mailbox_name(n)) fail(Errc::invalid_argument);
    auto fid = mailbox_id(t, account, f);
    if (!fid) fail(Errc::no_such_mailbox);
    if (mailbox_id(t, account, n)) fail(Errc::exists);
    if (f == "INBOX") {
      // RFC 9051 6.3.6: move INBOX's messages to the new name, INBOX stays (empty);
      // INBOX's children are not renamed.
      MailboxId nid = create_mailbox_txn(t, account, n, SpecialUse::none, false);
      MailboxRec src = load_mailbox(t, *fid), dst = load_mailbox(t, nid);
      AccountRec a = load_account(t, account);
      std::string prefix = key_u64(src.m.id);
      std::vector<std::pair<Uid, MsgRec>> msgs;
      {
        Cursor c(t, db_.messages);
        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
          msgs.emplace_back(get_u32(c.key(), 8), MsgRec::decode(c.val()));
      }
      std::vector<Uid> gone;
      for (auto& [uid, rec] : msgs) {
        blob_ref(t, rec.blob);  // remove_message drops one
        remove_message(t, src, a, uid, rec);
        append_message(t, dst, a, rec.blob, rec.size, rec.idate, rec.flags, rec.keywords);
        gone.push_back(uid);
      }
      if (!gone.empty()) record_vanished(t, src.m.id, ++src.m.highestmodseq, gone);
      save_mailbox(t, src);
      save_mailbox(t, dst);
      save_account(t, a);
      return;
    }
    if (n == "INBOX" || n.starts_with(f + kHierarchyDelimiter)) fail(Errc::invalid_argument);
    std::vector<std::pair<std::string, MailboxId>> moving;
    {
      Cursor c(t, db_.mbox_names);
      std::string prefix = key_u64_str(account, f);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
        std::string name(c.key().substr(8));
        if (name == f || name.starts_with(f + kHierarchyDelimiter)) moving.emplace_back(name, get_u64(c.val()));
      }
    }
    for (auto& [old, id] : moving) {
      std::string nn = n + old.substr(f.size());
      if (mailbox_id(t, account, nn)) fail(Errc::exists);
    }
    for (auto& [old, id] : moving) {
      std::string nn = n + old.substr(f.size());
      MailboxRec m = load_mailbox(t, id);
      m.m.name = nn;
      save_mailbox(t, m);
      t.del(db_.mbox_names, key_u64_str(account, old));
      t.put(db_.mbox_names, key_u64_str(account, nn), key_u64(id));
      // Subscriptions follow the renamed mailboxes (as Dovecot does).
      if (t.del(db_.subs, key_u64_str(account, old)))
        t.put(db_.subs, key_u64_str(account, nn), std::string_view{});
    }
  });
}

Result<void> LmdbStore::delete_mailbox(AccountId account, std::string_view name) {
  return run_write([&](Txn& t) {
    std::string canon = canon_mailbox_name(name);
    if (canon == "INBOX") fail(Errc::not_permitted);
    auto id = mailbox_id(t, account, canon);
    if (!id) fail(Errc::no_such_mailbox);
    MailboxRec m = load_mailbox(t, *id);
    AccountRec a = load_account(t, account);
    delete_mailbox_txn(t, m, a);
  });
}

Result<std::vector<MailboxInfo>> LmdbStore::list_mailboxes(AccountId account, std::string_view pattern) {
  return run_read([&](Txn& t) {
    std::vector<MailboxInfo> out;
    Cursor c(t, db_.mbox_names);
    std::string prefix = key_u64(account);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
      if (!mailbox_matches(pattern, c.key().substr(8))) continue;
      out.push_back(mailbox_info(t, load_mailbox(t, get_u64(c.val()))));
    }
    return out;
  });
}

Result<MailboxInfo> LmdbStore::get_mailbox(AccountId account, std::string_view name) {
  return run_read([&](Txn& t) {
    auto id = mailbox_id(t, account, canon_mailbox_name(name));
    if (!id) fail(Errc::no_such_mailbox);
    return mailbox_info(t, load_mailbox(t, *id));
  });
}

Result<MailboxInfo> LmdbStore::get_mailbox(MailboxId id) {
  return run_read([&](Txn& t) { return mailbox_info(t, load_mailbox(t, id)); });
}

Result<void> LmdbStore::subscribe(AccountId account, std::string_view name, bool subscribed) {
  return run_write([&](Txn& t) {
    std::string canon = canon_mailbox_name(name);
    if (subscribed) {
      if (!mailbox_id(t, account, canon)) fail(Errc::no_such_mailbox);
      t.put(db_.subs, key_u64_str(account, canon), std::string_view{});
    } else if (!t.del(db_.subs, key_u64_str(account, canon))) {
      fail(Errc::not_found);
    }
  });
}

Result<std::vector<std::string>> LmdbStore::list_subscriptions(AccountId account) {
  return run_read([&](Txn& t) {
    std::vector<std::string> out;
    if (!have_subs_) return out;
    Cursor c(t, db_.subs);
    std::string prefix = key_u64(account);
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
      out.emplace_back(c.key().substr(8));
    return out;
  });
}

Result<Store::RecentClaim> LmdbStore::claim_recent(MailboxId mailbox) {
  // Cheap check first (a read txn): most calls find nothing new, and a write txn takes
  // the store-wide writer lock.
  auto peek = run_read([&](Txn& t) {
    MailboxRec m = load_mailbox(t, mailbox);
    return m.m.first_recent_uid < m.m.uidnext;
  });
  if (!peek) return peek.error();
  if (!*peek) return RecentClaim{};
  return run_write([&](Txn& t) {
    MailboxRec m = load_mailbox(t, mailbox);
    RecentClaim c{m.m.first_recent_uid, m.m.uidnext};
    if (c.first >= c.end) return RecentClaim{};
    m.m.first_recent_uid = m.m.uidnext;
    save_mailbox(t, m);
    return c;
  });
}

Result<void> LmdbStore::set_special_use(AccountId account, std::string_view name, SpecialUse use) {
  return run_write([&](Txn& t) {
    auto id = mailbox_id(t, account, canon_mailbox_name(name));
    if (!id) fail(Errc::no_such_mailbox);
    MailboxRec m = load_mailbox(t, *id);
    m.m.special_use = use;
    save_mailbox(t, m);
  });
}

// ---------------------------------------------------------------- messages
// Adds the keywords not yet known to the mailbox's list. Returns false (nothing added)
// if that would pass kMaxMailboxKeywords and `strict`; otherwise adds what fits.
static bool register_keywords(MailboxRec& m, const std::vector<std::string>& ks, bool strict) {
  std::vector<std::string> fresh;
  for (const auto& k : ks)
    if (!k.empty() && !has_keyword(m.m.keywords, k) && !has_keyword(fresh, k)) fresh.push_back(k);
  if (fresh.empty()) return true;
  if (strict && m.m.keywords.size() + fresh.size() > kMaxMailboxKeywords) return false;
  for (auto& k : fresh) {
    if (m.m.keywords.size() >= kMaxMailboxKeywords) break;  // Known gap (see the closing note): the message keeps it anyway
    m.m.keywords.push_back(std::move(k));
  }
  return true;
}

Uid LmdbStore::append_message(Txn& t, MailboxRec& m, AccountRec& a, BlobId blob, std::uint64_t size,
                              UnixTime idate, std::uint32_t flags, std::string_view keywords) {
  const Quota& q = a.a.quota;
  if ((q.bytes && a.a.usage.bytes + size > q.bytes) || (q.messages && a.a.usage.messages + 1 > q.messages))
    fail(Errc::quota_exceeded);
  if (m.m.uidnext == 0xffffffffu) fail(Errc::not_permitted);  // UID space exhausted
  Uid uid = m.m.uidnext++;
  MsgRec rec;
  rec.modseq = ++m.m.highestmodseq;
  rec.flags = flags;
  rec.size = size;
  rec.idate = idate;
  rec.blob = blob;
  rec.keywords = std::string(keywords);
  if (!keywords.empty()) register_keywords(m, split_keywords(keywords), false);
  t.put(db_.messages, key_u64_u32(m.m.id, uid), rec.encode());
  index_modseq(t, m.m.id, uid, 0, rec.modseq);
  m.m.messages += 1;
  m.m.size += size;
  if (!(flags & kSeen)) m.m.unseen += 1;
  a.a.usage.bytes += size;
  a.a.usage.messages += 1;
  return uid;
}

void LmdbStore::remove_message(Txn& t, MailboxRec& m, AccountRec& a, Uid uid, const MsgRec& rec) {
  t.del(db_.messages, key_u64_u32(m.m.id, uid));
  t.del(db_.by_modseq, key_u64_u64_u32(m.m.id, rec.modseq, uid));
  blob_unref(t, rec.blob);
  m.m.messages -= std::min<std::uint32_t>(m.m.messages, 1);
  m.m.size -= std::min(m.m.size, rec.size);
  if (!(rec.flags & kSeen)) m.m.unseen -= std::min<std::uint32_t>(m.m.unseen, 1);
  a.a.usage.bytes -= std::min(a.a.usage.bytes, rec.size);
  a.a.usage.messages -= std::min<std::uint64_t>(a.a.usage.messages, 1);
}

void LmdbStore::record_vanished(Txn& t, MailboxId mailbox, ModSeq modseq, const std::vector<Uid>& uids) {
  Writer w;
  for (Uid u : uids) w.u32(u);
  t.put(db_.changes, key_u64_u64(mailbox, modseq), w.data());
}

void LmdbStore::scan_messages(Txn& t, MailboxId mailbox, UidRange range,
                              const std::function<bool(const MessageMeta&)>& fn) {
  Cursor c(t, db_.messages);
  std::string prefix = key_u64(mailbox);
  for (bool ok = c.seek(key_u64_u32(mailbox, range.first)); ok && c.key().starts_with(prefix); ok = c.next()) {
    Uid uid = get_u32(c.key(), 8);
    if (uid > range.last) break;
    if (!fn(MsgRec::view(uid, c.val()))) break;
  }
}

Result<void> LmdbStore::for_each_message(MailboxId mailbox, UidRange range,
                                         const std::function<bool(const MessageMeta&)>& fn) {
  return run_read([&](Txn& t) {
    if (!t.get(db_.mailboxes, key_u64(mailbox))) fail(Errc::no_such_mailbox);
    scan_messages(t, mailbox, range, fn);
  });
}

Result<MessageRecord> LmdbStore::get_message(MailboxId mailbox, Uid uid) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.messages, key_u64_u32(mailbox, uid));
    if (!v) fail(Errc::not_found);
    return to_record(uid, MsgRec::decode(*v));
  });
}

namespace {
void read_chunks(Txn& t, MDB_dbi chunks, BlobId blob, const std::function<bool(std::string_view)>& fn) {
  Cursor c(t, chunks);
  std::string prefix = key_u64(blob);
  for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
    if (!fn(c.val())) break;
}
// [offset, offset+length) of a blob. store_blob writes every chunk but the last with the
// same size, so chunk 0's size says which chunk holds `offset`: seek there directly.
void read_chunks_range(Txn& t, MDB_dbi chunks, BlobId blob, std::uint64_t offset, std::uint64_t length,
                       const std::function<bool(std::string_view)>& fn) {
  if (length == 0) return;
  auto first = t.get(chunks, key_u64_u32(blob, 0));
  if (!first) return;
  std::uint64_t csize = first->size();
  std::uint64_t index = csize ? offset / csize : 0;
  if (index > 0xffffffffu) return;
  std::uint64_t pos = index * csize;  // the offset of chunk `index` in the blob
  Cursor c(t, chunks);
  std::string prefix = key_u64(blob);
  std::uint64_t left = length;
  for (bool ok = c.seek(key_u64_u32(blob, static_cast<std::uint32_t>(index))); ok && c.key().starts_with(prefix);
       ok = c.next()) {
    std::string_view v = c.val();
    std::uint64_t here = pos;
    pos += v.size();
    if (pos <= offset) continue;
    if (offset > here) v.remove_prefix(static_cast<std::size_t>(offset - here));
    if (v.size() > left) v = v.substr(0, static_cast<std::size_t>(left));
    left -= v.size();
    if (!fn(v) || left == 0) break;
  }
}
}  // namespace

Result<void> LmdbStore::read_message_range(MailboxId mailbox, Uid uid, std::uint64_t offset, std::uint64_t length,
                                           const std::function<bool(std::string_view)>& fn) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.messages, key_u64_u32(mailbox, uid));
    if (!v) fail(Errc::not_found);
    read_chunks_range(t, db_.chunks, MsgRec::decode(*v).blob, offset, length, fn);
  });
}

Result<void> LmdbStore::read_blob_range(BlobId blob, std::uint64_t offset, std::uint64_t length,
                                        const std::function<bool(std::string_view)>& fn) {
  return run_read([&](Txn& t) {
    if (!t.get(db_.blobs, key_u64(blob))) fail(Errc::not_found);
    read_chunks_range(t, db_.chunks, blob, offset, length, fn);
  });
}

Result<void> LmdbStore::read_message(MailboxId mailbox, Uid uid, const std::function<bool(std::string_view)>& fn) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.messages, key_u64_u32(mailbox, uid));
    if (!v) fail(Errc::not_found);
    read_chunks(t, db_.chunks, MsgRec::decode(*v).blob, fn);
  });
}

Result<void> LmdbStore::read_blob(BlobId blob, const std::function<bool(std::string_view)>& fn) {
  return run_read([&](Txn& t) {
    if (!t.get(db_.blobs, key_u64(blob))) fail(Errc::not_found);
    read_chunks(t, db_.chunks, blob, fn);
  });
}

Result<std::string> LmdbStore::read_message_string(MailboxId mailbox, Uid uid) {
  std::string out;
  auto r = read_message(mailbox, uid, [&](std::string_view c) {
    out.append(c);
    return true;
  });
  if (!r) return r.error();
  return out;
}

Result<FlagResult> LmdbStore::set_flags(MailboxId mailbox, const UidSet& uids, const FlagUpdate& up) {
  return run_write([&](Txn& t) {
    MailboxRec m = load_mailbox(t, mailbox);
    FlagResult out;
    std::vector<std::pair<Uid, MsgRec>> changes;
    std::vector<ModSeq> old_modseqs;  // of changes[i], for the MODSEQ index
    ModSeq modseq = m.m.highestmodseq + 1;
    {
      Cursor c(t, db_.messages);
      std::string prefix = key_u64(mailbox);
      for (const UidRange& r : normalize(uids)) {
        for (bool ok = c.seek(key_u64_u32(mailbox, r.first)); ok && c.key().starts_with(prefix); ok = c.next()) {
          Uid uid = get_u32(c.key(), 8);
          if (uid > r.last) break;
          MsgRec rec = MsgRec::decode(c.val());
          std::uint32_t nf = rec.flags;
          auto ks = split_keywords(rec.keywords);
          switch (up.op) {
            case FlagUpdate::Op::replace:
              nf = up.flags;
              ks.clear();
              for (auto& k : up.keywords)
                if (!has_keyword(ks, k)) ks.push_back(k);
              break;
            case FlagUpdate::Op::add:
              nf |= up.flags;
              for (auto& k : up.keywords)
                if (!has_keyword(ks, k)) ks.push_back(k);
              break;
            case FlagUpdate::Op::remove:
              nf &= ~up.flags;
              for (auto& k : up.keywords) {
                std::string lk = lower(k);
                std::erase_if(ks, [&](const std::string& x) { return lower(x) == lk; });
              }
              break;
          }
          std::string nk = join_keywords(ks);
          if (up.unchanged_since && rec.modseq > *up.unchanged_since) {
            out.modified.push_back(uid);  // RFC 7162 3.1.3: fails, reported as MODIFIED
            continue;
          }
          if (nf == rec.flags && nk == rec.keywords) continue;
          if ((rec.flags & kSeen) != (nf & kSeen)) {
            if (nf & kSeen)
              m.m.unseen -= std::min<std::uint32_t>(m.m.unseen, 1);
            else
              m.m.unseen += 1;
          }
          rec.flags = nf;
          rec.keywords = nk;
          old_modseqs.push_back(rec.modseq);
          rec.modseq = modseq;
          changes.emplace_back(uid, std::move(rec));
        }
      }
    }
    if (!changes.empty()) {
      if (up.op != FlagUpdate::Op::remove && !register_keywords(m, up.keywords, true)) fail(Errc::not_permitted);
      for (std::size_t i = 0; i < changes.size(); ++i) {
        auto& [uid, rec] = changes[i];
        t.put(db_.messages, key_u64_u32(mailbox, uid), rec.encode());
        index_modseq(t, mailbox, uid, old_modseqs[i], rec.modseq);
        out.changed.push_back(to_record(uid, rec));
      }
      m.m.highestmodseq = modseq;
      save_mailbox(t, m);
    }
    return out;
  });
}

Result<std::vector<Uid>> LmdbStore::expunge(MailboxId mailbox, const std::optional<UidSet>& uids, bool only_deleted) {
  return run_write([&](Txn& t) {
    MailboxRec m = load_mailbox(t, mailbox);
    AccountRec a = load_account(t, m.m.account);
    UidSet set = uids ? normalize(*uids) : UidSet{UidRange{}};
    std::vector<std::pair<Uid, MsgRec>> victims;
    {
      Cursor c(t, db_.messages);
      std::string prefix = key_u64(mailbox);
      for (const UidRange& r : set) {
        for (bool ok = c.seek(key_u64_u32(mailbox, r.first)); ok && c.key().starts_with(prefix); ok = c.next()) {
          Uid uid = get_u32(c.key(), 8);
          if (uid > r.last) break;
          MsgRec rec = MsgRec::decode(c.val());
          if (only_deleted && !(rec.flags & kDeleted)) continue;
          victims.emplace_back(uid, std::move(rec));
        }
      }
    }
    std::vector<Uid> out;
    if (victims.empty()) return out;
    for (auto& [uid, rec] : victims) {
      remove_message(t, m, a, uid, rec);
      out.push_back(uid);
    }
    // RFC 7162 3.2.10: remember the expunged UIDs under the MODSEQ of this change.
    record_vanished(t, mailbox, ++m.m.highestmodseq, out);
    save_mailbox(t, m);
    save_account(t, a);
    return out;
  });
}

namespace {
// UIDs expunged from `mailbox` with a MODSEQ > since, ascending, unique.
std::vector<Uid> vanished_in(Txn& t, MDB_dbi changes, MailboxId mailbox, ModSeq since) {
  std::vector<Uid> out;
  if (since == ~ModSeq{0}) return out;
  Cursor c(t, changes);
  std::string prefix = key_u64(mailbox);
  for (bool ok = c.seek(key_u64_u64(mailbox, since + 1)); ok && c.key().starts_with(prefix); ok = c.next()) {
    std::string_view v = c.val();
    for (std::size_t off = 0; off + 4 <= v.size(); off += 4) out.push_back(get_u32(v, off));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}
}  // namespace

Result<std::vector<Uid>> LmdbStore::vanished_since(MailboxId mailbox, ModSeq since) {
  return run_read([&](Txn& t) {
    if (!t.get(db_.mailboxes, key_u64(mailbox))) fail(Errc::no_such_mailbox);
    return vanished_in(t, db_.changes, mailbox, since);
  });
}

Result<Store::MailboxChanges> LmdbStore::changes_since(MailboxId mailbox, ModSeq since) {
  return run_read([&](Txn& t) {
    MailboxChanges out;
    out.info = mailbox_info(t, load_mailbox(t, mailbox));
    if (since < out.info.highestmodseq) {
      if (have_modseq_index_) {
        Cursor c(t, db_.by_modseq);
        std::string prefix = key_u64(mailbox);
        for (bool ok = c.seek(key_u64_u64(mailbox, since + 1)); ok && c.key().starts_with(prefix); ok = c.next()) {
          if (c.key().size() != 20) throw CorruptRecord();
          Uid uid = get_u32(c.key(), 16);
          auto v = t.get(db_.messages, key_u64_u32(mailbox, uid));
          if (!v) throw CorruptRecord();  // an index entry without its message (check() repairs it)
          out.changed.push_back(to_record(uid, MsgRec::decode(*v)));
        }
        std::sort(out.changed.begin(), out.changed.end(),
                  [](const MessageRecord& a, const MessageRecord& b) { return a.uid < b.uid; });
      } else {
        Cursor c(t, db_.messages);
        std::string prefix = key_u64(mailbox);
        for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) {
          MsgRec rec = MsgRec::decode(c.val());
          if (rec.modseq > since) out.changed.push_back(to_record(get_u32(c.key(), 8), rec));
        }
      }
      out.vanished = vanished_in(t, db_.changes, mailbox, since);
    }
    return out;
  });
}

Result<MailboxInfo> LmdbStore::read_mailbox(MailboxId mailbox, UidRange range,
                                            const std::function<bool(const MessageMeta&)>& fn) {
  return run_read([&](Txn& t) {
    MailboxInfo info = mailbox_info(t, load_mailbox(t, mailbox));
    scan_messages(t, mailbox, range, fn);
    return info;
  });
}

// The messages of `mailbox` whose UIDs are in `uids`, ascending (copy and move).
std::vector<std::pair<Uid, MsgRec>> LmdbStore::messages_in(Txn& t, MailboxId mailbox, const UidSet& uids) {
  std::vector<std::pair<Uid, MsgRec>> msgs;
  Cursor c(t, db_.messages);
  std::string prefix = key_u64(mailbox);
  for (const UidRange& r : normalize(uids))
    for (bool ok = c.seek(key_u64_u32(mailbox, r.first)); ok && c.key().starts_with(prefix); ok = c.next()) {
      Uid uid = get_u32(c.key(), 8);
      if (uid > r.last) break;
      msgs.emplace_back(uid, MsgRec::decode(c.val()));
    }
  return msgs;
}

Result<CopyResult> LmdbStore::copy_messages(MailboxId source, const UidSet& uids, MailboxId dest) {
  return run_write([&](Txn& t) {
    load_mailbox(t, source);
    MailboxRec dst = load_mailbox(t, dest);
    AccountRec a = load_account(t, dst.m.account);
    std::vector<std::pair<Uid, MsgRec>> msgs = messages_in(t, source, uids);
    CopyResult out;
    out.dest_uidvalidity = dst.m.uidvalidity;
    for (auto& [uid, rec] : msgs) {
      Uid nu = append_message(t, dst, a, rec.blob, rec.size, rec.idate, rec.flags, rec.keywords);
      blob_ref(t, rec.blob);
      out.uids.emplace_back(uid, nu);
    }
    save_mailbox(t, dst);
    save_account(t, a);
    return out;
  });
}

Result<CopyResult> LmdbStore::move_messages(MailboxId source, const UidSet& uids, MailboxId dest) {
  if (source == dest) return Errc::invalid_argument;
  return run_write([&](Txn& t) {
    MailboxRec src = load_mailbox(t, source);
    MailboxRec dst = load_mailbox(t, dest);
    AccountRec sa = load_account(t, src.m.account);
    std::optional<AccountRec> da_other;
    if (dst.m.account != src.m.account) da_other = load_account(t, dst.m.account);
    AccountRec& da = da_other ? *da_other : sa;
    std::vector<std::pair<Uid, MsgRec>> msgs = messages_in(t, source, uids);
    CopyResult out;
    out.dest_uidvalidity = dst.m.uidvalidity;
    if (msgs.empty()) return out;
    // Remove first (same-account moves must not trip the quota), keeping the body
    // alive with an extra ref until it is appended to dest.
    std::vector<Uid> gone;
    for (auto& [uid, rec] : msgs) {
      blob_ref(t, rec.blob);
      remove_message(t, src, sa, uid, rec);
      gone.push_back(uid);
    }
    for (auto& [uid, rec] : msgs) {
      Uid nu = append_message(t, dst, da, rec.blob, rec.size, rec.idate, rec.flags, rec.keywords);
      out.uids.emplace_back(uid, nu);
    }
    record_vanished(t, source, ++src.m.highestmodseq, gone);
    save_mailbox(t, src);
    save_mailbox(t, dst);
    save_account(t, sa);
    if (da_other) save_account(t, *da_other);
    return out;
  });
}

}  // namespace tern::store::lmdb
