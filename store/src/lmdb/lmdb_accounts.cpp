// Domains, accounts, aliases, admins and recipient resolution.
#include <openssl/rand.h>

#include <algorithm>

#include "lmdb_store.hpp"

namespace tern::store::lmdb {
namespace {

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return std::string(at == std::string_view::npos ? std::string_view{} : address.substr(at + 1));
}

std::string need_domain(std::string_view d) {
  auto n = normalize_domain(d);
  if (!n) fail(Errc::invalid_argument);
  return *n;
}

std::string need_address(std::string_view a) {
  auto n = normalize_address(a);
  if (!n) fail(Errc::invalid_address);
  return *n;
}

// "a@d" or "@d" (catch-all).
std::string need_alias_source(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() == '@') {
    auto d = normalize_domain(s.substr(1));
    if (!d) fail(Errc::invalid_address);
    return "@" + *d;
  }
  return need_address(s);
}

std::string encode_targets(const std::vector<std::string>& t) {
  Writer w;
  w.u32(static_cast<std::uint32_t>(t.size()));
  for (auto& x : t) w.str(x);
  return w.take();
}
std::vector<std::string> decode_targets(std::string_view v) {
  Reader r(v);
  std::uint32_t n = r.u32();
  std::vector<std::string> out;
  for (std::uint32_t i = 0; i < n; ++i) out.push_back(r.str());
  return out;
}

// Forwarding: keep_copy (u8), then the targets as encode_targets.
std::string encode_forwarding(const Forwarding& f) {
  Writer w;
  w.u8(f.keep_copy ? 1 : 0).raw(encode_targets(f.targets));
  return w.take();
}
Forwarding decode_forwarding(std::string_view v) {
  Forwarding f;
  if (v.empty()) return f;
  f.keep_copy = static_cast<unsigned char>(v[0]) != 0;
  f.targets = decode_targets(v.substr(1));
  return f;
}
std::string encode_admin(const Admin& a) {
  Writer w;
  w.str(a.name).str(a.password_hash).u8(a.global ? 1 : 0).raw(encode_targets(a.domains));
  return w.take();
}
Admin decode_admin(std::string_view v) {
  Reader r(v);
  Admin a;
  a.name = r.str();
  a.password_hash = r.str();
  a.global = r.u8() != 0;
  std::uint32_t n = r.u32();
  for (std::uint32_t i = 0; i < n; ++i) a.domains.push_back(r.str());
  return a;
}

bool valid_hash_text(std::string_view h) {
  for (char c : h)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == ':') return false;
  return true;
}

}  // namespace

// ---------------------------------------------------------------- domains
Result<void> LmdbStore::add_domain(std::string_view domain) {
  return run_write([&](Txn& t) {
    std::string d = need_domain(domain);
    if (t.get(db_.domains, d)) fail(Errc::exists);
    t.put(db_.domains, d, "");
  });
}

Result<void> LmdbStore::del_domain(std::string_view domain) {
  return run_write([&](Txn& t) {
    std::string d = need_domain(domain);
    if (!t.get(db_.domains, d)) fail(Errc::not_found);
    std::string suffix = "@" + d;
    for (MDB_dbi dbi : {db_.acct_addr, db_.aliases}) {
      Cursor c(t, dbi);
      for (bool ok = c.first(); ok; ok = c.next())
        if (c.key().ends_with(suffix)) fail(Errc::not_permitted);
    }
    t.del(db_.domains, d);
    // DKIM keys of the domain go with it.
    Cursor c(t, db_.dkim);
    std::string prefix = d + std::string(1, '\0');
    for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next()) c.del();
  });
}

Result<std::vector<std::string>> LmdbStore::list_domains() {
  return run_read([&](Txn& t) {
    std::vector<std::string> out;
    Cursor c(t, db_.domains);
    for (bool ok = c.first(); ok; ok = c.next()) out.emplace_back(c.key());
    return out;
  });
}

bool LmdbStore::domain_exists(std::string_view domain) {
  auto d = normalize_domain(domain);
  if (!d) return false;
  auto r = run_read([&](Txn& t) { return t.get(db_.domains, *d).has_value(); });
  return r && *r;
}

Result<void> LmdbStore::set_domain_archive(std::string_view domain, std::string_view archive) {
  return run_write([&](Txn& t) {
    std::string d = need_domain(domain);
    if (!t.get(db_.domains, d)) fail(Errc::unknown_domain);
    std::string a = archive.empty() ? std::string() : need_address(archive);
    t.put(db_.domains, d, a);
  });
}

Result<std::string> LmdbStore::get_domain_archive(std::string_view domain) {
  return run_read([&](Txn& t) {
    std::string d = need_domain(domain);
    auto v = t.get(db_.domains, d);
    if (!v) fail(Errc::unknown_domain);
    return std::string(*v);
  });
}

Result<std::string> LmdbStore::install_secret(std::string_view name) {
  const std::string key = "secret:" + std::string(name);
  auto have = run_read([&](Txn& t) { return std::string(t.get(db_.meta, key).value_or("")); });
  if (!have) return have.error();
  if (!have->empty()) return have;
  unsigned char rnd[32];
  if (RAND_bytes(rnd, sizeof rnd) != 1) return Errc::io_error;
  const std::string fresh(reinterpret_cast<char*>(rnd), sizeof rnd);
  // Another process may have made it meanwhile: the first one written wins.
  return run_write([&](Txn& t) {
    if (auto v = t.get(db_.meta, key)) return std::string(*v);
    t.put(db_.meta, key, fresh);
    return fresh;
  });
}

// ---------------------------------------------------------------- accounts
std::optional<AccountId> LmdbStore::account_id(Txn& t, std::string_view address) {
  auto v = t.get(db_.acct_addr, address);
  if (!v) return std::nullopt;
  return get_u64(*v);
}

AccountRec LmdbStore::load_account(Txn& t, AccountId id) {
  auto v = t.get(db_.accounts, key_u64(id));
  if (!v) fail(Errc::not_found);
  return AccountRec::decode(*v);
}

void LmdbStore::save_account(Txn& t, const AccountRec& a) { t.put(db_.accounts, key_u64(a.a.id), a.encode()); }

AccountRec LmdbStore::account_by_address(Txn& t, std::string_view address) {
  std::string a = need_address(address);
  auto id = account_id(t, a);
  if (!id) fail(Errc::not_found);
  return load_account(t, *id);
}

Result<AccountId> LmdbStore::add_account(const NewAccount& na) {
  return run_write([&](Txn& t) {
    std::string addr = need_address(na.address);
    if (!valid_hash_text(na.password_hash)) fail(Errc::invalid_argument);
    if (!t.get(db_.domains, domain_of(addr))) fail(Errc::unknown_domain);
    if (account_id(t, addr) || t.get(db_.aliases, addr)) fail(Errc::exists);
    AccountRec rec;
    rec.a.id = next_id(t, "next_account");
    rec.a.address = addr;
    rec.a.password_hash = na.password_hash;
    rec.a.scram = na.scram;
    rec.a.enabled = na.enabled;
    rec.a.quota = na.quota;
    rec.a.created = now_seconds();
    save_account(t, rec);
    t.put(db_.acct_addr, addr, key_u64(rec.a.id));
    // RFC 6154 special-use mailboxes every client expects.
    create_mailbox_txn(t, rec.a.id, "INBOX", SpecialUse::none, true);
    create_mailbox_txn(t, rec.a.id, "Sent", SpecialUse::sent, true);
    create_mailbox_txn(t, rec.a.id, "Drafts", SpecialUse::drafts, true);
    create_mailbox_txn(t, rec.a.id, "Junk", SpecialUse::junk, true);
    create_mailbox_txn(t, rec.a.id, "Trash", SpecialUse::trash, true);
    create_mailbox_txn(t, rec.a.id, "Archive", SpecialUse::archive, true);
    return rec.a.id;
  });
}

Result<void> LmdbStore::del_account(std::string_view address) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    delete_account_txn(t, a);
  });
}

void LmdbStore::delete_account_txn(Txn& t, AccountRec& a) {
  {
    std::vector<MailboxId> boxes;
    {
      Cursor c(t, db_.mbox_names);
      std::string prefix = key_u64(a.a.id);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix); ok = c.next())
        boxes.push_back(get_u64(c.val()));
    }
    for (MailboxId id : boxes) {
      MailboxRec m = load_mailbox(t, id);
      delete_mailbox_txn(t, m, a);
    }
    t.del(db_.autoreply, key_u64(a.a.id));
    t.del(db_.forward, key_u64(a.a.id));
    {
      Cursor c(t, db_.subs);
      std::string prefix = key_u64(a.a.id);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix);) {
        c.del();
        ok = c.seek(prefix);
      }
    }
    {
      Cursor c(t, db_.ar_log);
      std::string prefix = key_u64(a.a.id);
      for (bool ok = c.seek(prefix); ok && c.key().starts_with(prefix);) {
        c.del();
        ok = c.seek(prefix);
      }
    }
    // A domain whose archive copies went to this account stops archiving rather than
    // pointing at an address that no longer exists.
    std::vector<std::string> archived_here;
    {
      Cursor c(t, db_.domains);
      for (bool ok = c.first(); ok; ok = c.next())
        if (c.val() == a.a.address) archived_here.emplace_back(c.key());
    }
    for (const std::string& d : archived_here) t.put(db_.domains, d, std::string_view{});
    t.del(db_.acct_addr, a.a.address);
    t.del(db_.accounts, key_u64(a.a.id));
  }
}

Result<std::vector<std::string>> LmdbStore::del_account_checked(std::string_view address, bool force) {
  auto found = run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    const std::string& addr = a.a.address;
    std::vector<std::string> deps;
    std::vector<std::pair<std::string, std::vector<std::string>>> aliases;  // source, targets
    {
      Cursor c(t, db_.aliases);
      for (bool ok = c.first(); ok; ok = c.next()) {
        auto targets = decode_targets(c.val());
        if (std::find(targets.begin(), targets.end(), addr) == targets.end()) continue;
        std::string src(c.key());
        deps.push_back((src.starts_with("@") ? "catch-all " : "alias ") + src);
        aliases.emplace_back(std::move(src), std::move(targets));
      }
    }
    // Forwardings of other accounts that send here (the account's own goes with it).
    std::vector<std::pair<std::string, Forwarding>> forwards;  // key, forwarding
    {
      Cursor c(t, db_.forward);
      for (bool ok = c.first(); ok; ok = c.next()) {
        Forwarding f = decode_forwarding(c.val());
        if (std::find(f.targets.begin(), f.targets.end(), addr) == f.targets.end()) continue;
        if (get_u64(c.key()) == a.a.id) continue;
        forwards.emplace_back(std::string(c.key()), std::move(f));
      }
    }
    for (auto& [key, f] : forwards) {
      auto other = load_account(t, get_u64(key));
      deps.push_back("forwarding of " + other.a.address);
    }
    std::vector<std::string> archived;
    {
      Cursor c(t, db_.domains);
      for (bool ok = c.first(); ok; ok = c.next())
        if (c.val() == addr) {
          archived.emplace_back(c.key());
          deps.push_back("archive of " + std::string(c.key()));
        }
    }
    std::sort(deps.begin(), deps.end());
    if (!deps.empty() && !force) return std::make_pair(false, deps);
    for (auto& [src, targets] : aliases) {
      targets.erase(std::remove(targets.begin(), targets.end(), addr), targets.end());
      if (targets.empty()) t.del(db_.aliases, src);
      else t.put(db_.aliases, src, encode_targets(targets));
    }
    for (auto& [key, f] : forwards) {
      // A forwarding left with no target is dropped: its mail then stays in its mailbox.
      f.targets.erase(std::remove(f.targets.begin(), f.targets.end(), addr), f.targets.end());
      if (f.targets.empty()) t.del(db_.forward, key);
      else t.put(db_.forward, key, encode_forwarding(f));
    }
    for (const std::string& d : archived) t.put(db_.domains, d, std::string_view{});
    delete_account_txn(t, a);
    return std::make_pair(true, deps);
  });
  if (!found) return found.error();
  return found->second;  // refused (nothing written) or deleted: the caller knows `force`
}

Result<std::vector<Account>> LmdbStore::list_accounts(std::string_view domain) {
  return run_read([&](Txn& t) {
    std::string suffix;
    if (!domain.empty()) suffix = "@" + need_domain(domain);
    std::vector<Account> out;
    Cursor c(t, db_.acct_addr);
    for (bool ok = c.first(); ok; ok = c.next()) {
      if (!suffix.empty() && !c.key().ends_with(suffix)) continue;
      out.push_back(load_account(t, get_u64(c.val())).a);
    }
    return out;
  });
}

Result<Account> LmdbStore::get_account(std::string_view address) {
  return run_read([&](Txn& t) { return account_by_address(t, address).a; });
}

Result<Account> LmdbStore::get_account(AccountId id) {
  return run_read([&](Txn& t) { return load_account(t, id).a; });
}

Result<void> LmdbStore::set_password(std::string_view address, std::string_view hash,
                                     const std::optional<ScramCredential>& scram) {
  return run_write([&](Txn& t) {
    if (!valid_hash_text(hash)) fail(Errc::invalid_argument);
    AccountRec a = account_by_address(t, address);
    a.a.password_hash = std::string(hash);
    a.a.scram = scram;
    save_account(t, a);
  });
}

Result<void> LmdbStore::set_quota(std::string_view address, const Quota& quota) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    a.a.quota = quota;
    save_account(t, a);
  });
}

Result<void> LmdbStore::set_enabled(std::string_view address, bool enabled) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    a.a.enabled = enabled;
    save_account(t, a);
  });
}

// ---------------------------------------------------------------- resolution
// One step of expansion for a local address: the account, else an exact alias, else
// the address without "+tag" (plus-addressing), else the domain's catch-all.
LmdbStore::Hops LmdbStore::hops(Txn& t, const std::string& address) {
  Hops h;
  if (auto id = account_id(t, address)) {
    AccountRec a = load_account(t, *id);
    h.found = h.is_account = true;
    h.account = *id;
    h.enabled = a.a.enabled;
    return h;
  }
  if (auto v = t.get(db_.aliases, address)) {
    h.found = true;
    h.targets = decode_targets(*v);
    return h;
  }
  auto at = address.rfind('@');
  auto plus = address.find('+');
  if (plus != std::string::npos && plus < at && plus > 0) {
    std::string base = address.substr(0, plus) + address.substr(at);
    Hops b = hops(t, base);
    if (b.found) return b;
  }
  if (auto v = t.get(db_.aliases, address.substr(at))) {
    h.found = true;
    h.targets = decode_targets(*v);
  }
  return h;
}

void LmdbStore::resolve_into(Txn& t, const std::string& address, int depth, std::vector<std::string>& seen,
                             Resolution& out, bool& saw_disabled) {
  if (std::find(seen.begin(), seen.end(), address) != seen.end()) return;
  seen.push_back(address);
  if (depth > kMaxAliasDepth) return;
  if (!t.get(db_.domains, domain_of(address))) {
    if (depth > 0 && std::find(out.remote.begin(), out.remote.end(), address) == out.remote.end())
      out.remote.push_back(address);
    return;
  }
  Hops h = hops(t, address);
  if (!h.found) return;
  if (h.is_account) {
    if (!h.enabled) {
      saw_disabled = true;
      return;
    }
    // The account's own forwarding: its targets, and the account itself only when it
    // keeps a copy.
    if (auto f = forwarding_of(t, h.account)) {
      for (auto& target : f->targets) resolve_into(t, target, depth + 1, seen, out, saw_disabled);
      if (!f->keep_copy) return;
    }
    for (auto& l : out.local)
      if (l.account == h.account) return;
    AccountRec a = load_account(t, h.account);
    out.local.push_back(LocalRecipient{a.a.id, a.a.address, a.a.quota, a.a.usage});
    return;
  }
  for (auto& target : h.targets) resolve_into(t, target, depth + 1, seen, out, saw_disabled);
}

Result<Resolution> LmdbStore::resolve(std::string_view address) {
  auto addr = normalize_address(address);
  if (!addr) return Errc::invalid_address;
  return run_read([&](Txn& t) {
    if (!t.get(db_.domains, domain_of(*addr))) fail(Errc::no_such_user);
    Resolution out;
    std::vector<std::string> seen;
    bool saw_disabled = false;
    resolve_into(t, *addr, 0, seen, out, saw_disabled);
    if (out.local.empty() && out.remote.empty())
      fail(saw_disabled ? Errc::account_disabled : Errc::no_such_user);
    return out;
  });
}

// ---------------------------------------------------------------- aliases
Result<void> LmdbStore::add_alias(std::string_view source, const std::vector<std::string>& targets) {
  return run_write([&](Txn& t) {
    std::string src = need_alias_source(source);
    if (!t.get(db_.domains, domain_of(src))) fail(Errc::unknown_domain);
    if (t.get(db_.aliases, src) || account_id(t, src)) fail(Errc::exists);
    write_alias(t, src, targets);
  });
}

Result<void> LmdbStore::set_alias(std::string_view source, const std::vector<std::string>& targets) {
  return run_write([&](Txn& t) {
    std::string src = need_alias_source(source);
    if (!t.get(db_.aliases, src)) fail(Errc::not_found);
    write_alias(t, src, targets);
  });
}

Result<Alias> LmdbStore::get_alias(std::string_view source) {
  return run_read([&](Txn& t) {
    std::string src = need_alias_source(source);
    auto v = t.get(db_.aliases, src);
    if (!v) fail(Errc::not_found);
    return Alias{src, decode_targets(*v)};
  });
}

void LmdbStore::write_alias(Txn& t, const std::string& src, const std::vector<std::string>& targets) {
  if (targets.empty()) fail(Errc::invalid_argument);
  std::vector<std::string> norm;
  for (auto& x : targets) {
    std::string n = need_address(x);
    if (std::find(norm.begin(), norm.end(), n) == norm.end()) norm.push_back(n);
  }
  t.put(db_.aliases, src, encode_targets(norm));
  // Every local target must lead somewhere, and no expansion may come back to an
  // address already on its path or nest deeper than kMaxAliasDepth (the txn is
  // aborted by the throw, so nothing is changed on failure).
  std::vector<std::string> path;
  std::function<void(const std::string&, int)> walk = [&](const std::string& a, int depth) {
    if (depth > kMaxAliasDepth) fail(Errc::alias_loop);
    if (!t.get(db_.domains, domain_of(a))) return;  // remote
    if (std::find(path.begin(), path.end(), a) != path.end()) fail(Errc::alias_loop);
    Hops h = hops(t, a);
    if (!h.found) fail(Errc::no_such_user);
    std::vector<std::string> next = h.targets;
    if (h.is_account) {
      auto f = forwarding_of(t, h.account);  // an account forwarding on is followed too
      if (!f) return;
      next = f->targets;
    }
    path.push_back(a);
    for (auto& n : next) walk(n, depth + 1);
    path.pop_back();
  };
  path.push_back(src);
  for (auto& n : norm) walk(n, 1);
}

// ---------------------------------------------------------------- forwarding
std::optional<Forwarding> LmdbStore::forwarding_of(Txn& t, AccountId account) {
  auto v = t.get(db_.forward, key_u64(account));
  if (!v) return std::nullopt;
  return decode_forwarding(*v);
}

Result<void> LmdbStore::set_forwarding(std::string_view address, const Forwarding& forwarding) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    if (forwarding.targets.empty() || forwarding.targets.size() > kMaxForwardTargets) fail(Errc::invalid_argument);
    Forwarding f;
    f.keep_copy = forwarding.keep_copy;
    for (auto& x : forwarding.targets) {
      std::string n = need_address(x);
      if (n == a.a.address) fail(Errc::invalid_argument);
      if (std::find(f.targets.begin(), f.targets.end(), n) == f.targets.end()) f.targets.push_back(n);
    }
    t.put(db_.forward, key_u64(a.a.id), encode_forwarding(f));
    // Same checks as an alias: every local target leads somewhere, nothing comes back
    // here (the txn is aborted by the throw, so nothing is changed on failure).
    std::vector<std::string> path{a.a.address};
    std::function<void(const std::string&, int)> walk = [&](const std::string& x, int depth) {
      if (depth > kMaxAliasDepth) fail(Errc::alias_loop);
      if (!t.get(db_.domains, domain_of(x))) return;  // remote
      if (std::find(path.begin(), path.end(), x) != path.end()) fail(Errc::alias_loop);
      Hops h = hops(t, x);
      if (!h.found) fail(Errc::no_such_user);
      std::vector<std::string> next = h.targets;
      if (h.is_account) {
        auto g = forwarding_of(t, h.account);
        if (!g) return;
        next = g->targets;
      }
      path.push_back(x);
      for (auto& n : next) walk(n, depth + 1);
      path.pop_back();
    };
    for (auto& n : f.targets) walk(n, 1);
  });
}

Result<void> LmdbStore::clear_forwarding(std::string_view address) {
  return run_write([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    t.del(db_.forward, key_u64(a.a.id));
  });
}

Result<std::optional<Forwarding>> LmdbStore::get_forwarding(std::string_view address) {
  return run_read([&](Txn& t) {
    AccountRec a = account_by_address(t, address);
    return forwarding_of(t, a.a.id);
  });
}

Result<void> LmdbStore::del_alias(std::string_view source) {
  return run_write([&](Txn& t) {
    std::string src = need_alias_source(source);
    if (!t.del(db_.aliases, src)) fail(Errc::not_found);
  });
}

Result<std::vector<Alias>> LmdbStore::list_aliases(std::string_view domain) {
  return run_read([&](Txn& t) {
    std::string suffix;
    if (!domain.empty()) suffix = "@" + need_domain(domain);
    std::vector<Alias> out;
    Cursor c(t, db_.aliases);
    for (bool ok = c.first(); ok; ok = c.next()) {
      if (!suffix.empty() && !c.key().ends_with(suffix)) continue;
      out.push_back(Alias{std::string(c.key()), decode_targets(c.val())});
    }
    return out;
  });
}

// ---------------------------------------------------------------- admins
Result<void> LmdbStore::add_admin(const Admin& admin) {
  return run_write([&](Txn& t) {
    if (admin.name.empty() || admin.name.size() > 64 || !valid_hash_text(admin.name) ||
        !valid_hash_text(admin.password_hash))
      fail(Errc::invalid_argument);
    if (t.get(db_.admins, admin.name)) fail(Errc::exists);
    Admin a = admin;
    for (auto& d : a.domains) {
      d = need_domain(d);
      if (!t.get(db_.domains, d)) fail(Errc::unknown_domain);
    }
    t.put(db_.admins, a.name, encode_admin(a));
  });
}

Result<void> LmdbStore::del_admin(std::string_view name) {
  return run_write([&](Txn& t) {
    if (!t.del(db_.admins, name)) fail(Errc::not_found);
  });
}

Result<Admin> LmdbStore::get_admin(std::string_view name) {
  return run_read([&](Txn& t) {
    auto v = t.get(db_.admins, name);
    if (!v) fail(Errc::not_found);
    return decode_admin(*v);
  });
}

Result<std::vector<Admin>> LmdbStore::list_admins() {
  return run_read([&](Txn& t) {
    std::vector<Admin> out;
    Cursor c(t, db_.admins);
    for (bool ok = c.first(); ok; ok = c.next()) out.push_back(decode_admin(c.val()));
    return out;
  });
}

Result<void> LmdbStore::set_admin_password(std::string_view name, std::string_view hash) {
  return run_write([&](Txn& t) {
    if (!valid_hash_text(hash)) fail(Errc::invalid_argument);
    auto v = t.get(db_.admins, name);
    if (!v) fail(Errc::not_found);
    Admin a = decode_admin(*v);
    a.password_hash = std::string(hash);
    t.put(db_.admins, a.name, encode_admin(a));
  });
}

}  // namespace tern::store::lmdb
