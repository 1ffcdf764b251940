#include "tern/pop3d/service.hpp"

#include "tern/store/login_source.hpp"

#include <functional>
#include <stdexcept>
#include <utility>

#include "tern/sasl/sasl.hpp"

namespace tern::pop3d {

std::string make_uidl(std::uint32_t uidvalidity, store::Uid uid) {
  // RFC 1939 §7: 1..70 characters in 0x21..0x7E; two decimal numbers and a dot fit.
  return std::to_string(uidvalidity) + "." + std::to_string(uid);
}

std::size_t Pop3Service::SizeKeyHash::operator()(const SizeKey& k) const noexcept {
  std::uint64_t h = k.mailbox * 0x9E3779B97F4A7C15ull;
  h ^= (static_cast<std::uint64_t>(k.uidvalidity) << 32 | k.uid) + 0x7F4A7C159E3779B9ull +
       (h << 6) + (h >> 2);
  return static_cast<std::size_t>(h);
}

std::optional<auth::AccountRecord> Pop3Service::lookup_account(store::Store& s,
                                                               std::string_view login) {
  return store::account_lookup(s)(login);
}

Pop3Service::Pop3Service(const config::Config& cfg, store::Store& store)
    : cfg_(cfg),
      store_(store),
      auth_(store::account_lookup(store), store::authenticator_options(cfg, store, auth::AuthService::Pop3)),
      lock_dir_(cfg.data_dir / "run" / "pop3-locks") {
  for (auto m : sasl::mechanism_names(true)) mechs_.emplace_back(m);
}

pop3::SessionOptions Pop3Service::session_options(bool tls_active, bool plain_listener) const {
  pop3::SessionOptions o;
  o.hostname = cfg_.hostname;
  o.tls_active = tls_active;
  // RFC 2595 §4: STLS is offered on the plain listener only, before TLS.
  o.stls_available = plain_listener && !tls_active;
  o.allow_plaintext_auth = cfg_.pop3.allow_plaintext_auth;
  o.sasl_mechanisms = mechs_;
  o.expire_days = cfg_.pop3.expire_days;
  o.login_delay_secs = cfg_.pop3.login_delay_secs;
  o.error_limit = cfg_.limits.error_limit;
  return o;
}

OpenResult Pop3Service::open_maildrop(store::AccountId account) {
  OpenResult r;
  std::error_code ec;
  auto st = MaildropLock::acquire(lock_dir_, account, r.maildrop.lock, ec);
  if (st == MaildropLock::Status::InUse) {
    r.status = OpenStatus::InUse;
    return r;
  }
  if (st != MaildropLock::Status::Locked) {
    r.error = "lock " + (lock_dir_ / std::to_string(account)).string() + ": " + ec.message();
    return r;
  }
  auto inbox = store_.get_mailbox(account, "INBOX");
  if (!inbox) {
    r.error = "INBOX: " + inbox.error().message();
    return r;
  }
  r.maildrop.account = account;
  r.maildrop.inbox = inbox->id;
  r.maildrop.uidvalidity = inbox->uidvalidity;

  // One read txn for the listing (the store forbids store calls from the callback).
  struct Item {
    store::Uid uid;
    std::uint64_t stored_size;
  };
  std::vector<Item> items;
  items.reserve(inbox->messages);
  auto it = store_.for_each_message(inbox->id, store::UidRange{}, [&](const store::MessageMeta& m) {
    items.push_back({m.uid, m.size});
    return true;
  });
  if (!it) {
    r.error = "list INBOX: " + it.error().message();
    return r;
  }

  // LIST/STAT must give the exact octets RETR sends (RFC 1939 §5): the POP3 form of
  // the stored bytes (message_encoder.hpp). Mail from tern-mta is already CRLF text
  // and the sizes agree, but we do not assume it: each message is measured once per
  // process (zero-copy read), then served from the cache.
  auto& msgs = r.maildrop.messages;
  msgs.reserve(items.size());
  std::vector<std::size_t> missing;
  {
    std::lock_guard lk(sizes_mu_);
    for (const auto& i : items) {
      pop3::MaildropMessage m;
      m.uid = i.uid;
      m.uidl = make_uidl(inbox->uidvalidity, i.uid);
      auto f = sizes_.find(SizeKey{inbox->id, inbox->uidvalidity, i.uid});
      if (f != sizes_.end()) {
        m.size = f->second;
      } else {
        missing.push_back(msgs.size());
      }
      msgs.push_back(std::move(m));
    }
  }
  std::vector<std::size_t> gone;
  for (std::size_t idx : missing) {
    pop3::Pop3SizeCounter counter;
    auto rd = store_.read_message(inbox->id, msgs[idx].uid, [&](std::string_view chunk) {
      counter.feed(chunk);
      return true;
    });
    if (!rd) {
      if (rd.error() == store::Errc::not_found) {  // expunged (IMAP) since the listing
        gone.push_back(idx);
        continue;
      }
      r.error = "read INBOX uid " + std::to_string(msgs[idx].uid) + ": " + rd.error().message();
      return r;
    }
    msgs[idx].size = counter.finish();
  }
  if (!missing.empty()) {
    std::lock_guard lk(sizes_mu_);
    if (sizes_.size() + missing.size() > kMaxCachedSizes) sizes_.clear();
    for (std::size_t idx : missing)
      sizes_[SizeKey{inbox->id, inbox->uidvalidity, msgs[idx].uid}] = msgs[idx].size;
  }
  for (auto g = gone.rbegin(); g != gone.rend(); ++g)
    msgs.erase(msgs.begin() + static_cast<std::ptrdiff_t>(*g));
  r.status = OpenStatus::Ok;
  return r;
}

SegmentResult Pop3Service::encode_segment(store::MailboxId mailbox, store::Uid uid,
                                          std::uint64_t skip, pop3::MessageEncoder& enc,
                                          std::string& out, std::size_t limit) {
  SegmentResult sr;
  bool stopped = false;
  // Starts at `skip` directly (one seek), not by walking the body from chunk 0.
  auto rd = store_.read_message_range(mailbox, uid, skip, store::Store::kToEnd, [&](std::string_view chunk) {
    sr.consumed += chunk.size();
    if (!enc.feed(chunk, out)) {  // TOP limit reached
      sr.end = true;
      stopped = true;
      return false;
    }
    if (out.size() >= limit) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (!rd) {
    sr.error = rd.error();
    return sr;
  }
  if (!stopped) sr.end = true;
  return sr;
}

store::Result<std::vector<store::Uid>> Pop3Service::expunge(store::MailboxId inbox,
                                                            const std::vector<store::Uid>& uids) {
  store::UidSet set;
  set.reserve(uids.size());
  for (auto u : uids) set.push_back(store::UidRange{u, u});
  return store_.expunge(inbox, set, false);
}

}  // namespace tern::pop3d
