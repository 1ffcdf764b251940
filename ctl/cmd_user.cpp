// ternctl user add|del|list|show|passwd|quota|enable|disable and admin add|passwd|list|del.
#include <cstdio>
#include <sstream>

#include "commands.hpp"
#include "tern/auth/password.hpp"

namespace tern::ctl {

namespace {
using store::Errc;

int user_error(std::error_code ec, const std::string& addr) {
  if (ec == Errc::invalid_address) return fail("malformed address: " + addr);
  if (ec == Errc::unknown_domain) return fail("unknown domain: " + domain_part(addr));
  if (ec == Errc::exists) return fail("already exists: " + addr + " (a user or alias has this address)");
  if (ec == Errc::not_found) return fail("no such user: " + addr);
  return fail_store(ec, addr);
}

std::string scheme_of(const std::string& hash) {
  if (hash.empty()) return "none";
  if (hash.starts_with("$y$")) return "yescrypt";
  if (hash.starts_with("$6$")) return "sha512-crypt";
  if (hash.starts_with("$2")) return "bcrypt";
  return "other";
}

std::string account_json(const store::Account& acc, bool detail) {
  std::string j = "{\"address\":" + json_str(acc.address) +
                  ",\"enabled\":" + (acc.enabled ? "true" : "false") +
                  ",\"quota_bytes\":" + std::to_string(acc.quota.bytes) +
                  ",\"quota_messages\":" + std::to_string(acc.quota.messages) +
                  ",\"used_bytes\":" + std::to_string(acc.usage.bytes) +
                  ",\"messages\":" + std::to_string(acc.usage.messages);
  if (detail)
    j += ",\"id\":" + std::to_string(acc.id) + ",\"created\":" + std::to_string(acc.created) +
         ",\"password_scheme\":" + json_str(scheme_of(acc.password_hash)) +
         ",\"scram\":" + (acc.scram ? "true" : "false");
  return j;
}

}  // namespace

int user_cmd(const std::string& verb, const Args& a, Context& ctx) {
  store::Store& s = *ctx.store;
  int st = kOk;
  auto addr_of = [&](const std::string& raw) -> std::optional<std::string> {
    auto n = store::normalize_address(raw);
    if (!n) st = fail("malformed address: " + raw);
    return n;
  };
  if (verb == "add") {
    const char* usage = "user add EMAIL (--password-stdin | --password-hash HASH | --disabled)";
    if (!need(a, 1, usage, st)) return st;
    int given = a.has("--password-stdin") + a.has("--password-hash") + a.has("--disabled");
    // Without a password the account could never log in: say so rather than make one.
    if (given == 0) return fail(std::string("no password given; usage: ternctl ") + usage, kUsage);
    if (given > 1) return fail("give one of --password-stdin, --password-hash, --disabled", kUsage);
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    if (!s.domain_exists(domain_part(*addr))) return fail("unknown domain: " + domain_part(*addr));
    store::NewAccount na;
    na.address = *addr;
    if (a.has("--password-hash")) {
      const std::string& h = a.opts.at("--password-hash");
      if (!auth::is_supported_hash(h)) return fail("unsupported password hash (use $y$, $6$ or $2b$ crypt hashes)");
      na.password_hash = h;
    } else if (a.has("--password-stdin")) {
      auto h = hash_from_stdin(ctx, st);
      if (!h) return st;
      na.password_hash = h->hash;
      na.scram = h->scram;
    } else {
      na.enabled = false;  // --disabled: no password, no login until passwd + enable
    }
    auto r = s.add_account(na);
    if (!r) return user_error(r.error(), *addr);
    std::printf("user added: %s%s\n", addr->c_str(),
                na.enabled ? "" : " (disabled, no password: set one with user passwd, then user enable)");
    return kOk;
  }
  if (verb == "del") {
    if (!need(a, 1, "user del EMAIL [--force]", st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    const bool force = a.has("--force");
    auto r = s.del_account_checked(*addr, force);
    if (!r) return user_error(r.error(), *addr);
    std::string deps;
    for (auto& d : *r) deps += (deps.empty() ? "" : ", ") + d;
    if (!force && !r->empty())
      return fail("refused: " + *addr + " is the target of " + deps +
                  " (change those first, or --force removes them with the user)");
    std::printf("user deleted: %s%s\n", addr->c_str(), deps.empty() ? "" : (" (removed: " + deps + ")").c_str());
    return kOk;
  }
  if (verb == "enable" || verb == "disable" || verb == "passwd") {
    if (!need(a, 1, "user " + verb + " EMAIL", st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    store::Result<void> r;
    if (verb == "passwd") {
      if (!s.get_account(*addr)) return fail("no such user: " + *addr);
      auto h = hash_from_stdin(ctx, st);
      if (!h) return st;
      r = s.set_password(*addr, h->hash, h->scram);
    } else {
      r = s.set_enabled(*addr, verb == "enable");
    }
    if (!r) return user_error(r.error(), *addr);
    const char* done = verb == "passwd" ? "password changed" : verb == "enable" ? "enabled" : "disabled";
    std::printf("user %s: %s\n", done, addr->c_str());
    return kOk;
  }
  if (verb == "quota") {
    if (!need(a, 2, "user quota EMAIL SIZE", st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    std::uint64_t bytes = 0;
    const std::string& size = a.pos[1];
    if (size != "0" && size != "none" && size != "unlimited") {
      try {
        bytes = config::parse_size(size);
      } catch (const std::exception&) {
        return fail("bad size: " + size + " (use a number with K, M or G, or 0 for unlimited)");
      }
    }
    auto acct = s.get_account(*addr);
    if (!acct) return user_error(acct.error(), *addr);
    store::Quota q = acct->quota;
    q.bytes = bytes;
    auto r = s.set_quota(*addr, q);
    if (!r) return user_error(r.error(), *addr);
    std::printf("user quota: %s %s\n", addr->c_str(), bytes ? human_size(bytes).c_str() : "unlimited");
    return kOk;
  }
  if (verb == "show") {
    if (!need(a, 1, "user show EMAIL [--json]", st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    auto acct = s.get_account(*addr);
    if (!acct) return user_error(acct.error(), *addr);
    auto ar = s.get_autoreply(*addr);
    const bool autoreply = ar && ar->has_value();
    if (a.json()) {
      std::printf("%s,\"autoreply\":%s}\n", account_json(*acct, true).c_str(), autoreply ? "true" : "false");
      return kOk;
    }
    std::printf("address: %s\nstatus: %s\npassword: %s%s\nquota: %s\nused: %s (%llu bytes)\nmessages: %llu\n"
                "autoreply: %s\n",
                acct->address.c_str(), acct->enabled ? "enabled" : "disabled",
                scheme_of(acct->password_hash).c_str(), acct->scram ? " + SCRAM-SHA-256" : "",
                acct->quota.bytes ? human_size(acct->quota.bytes).c_str() : "unlimited",
                human_size(acct->usage.bytes).c_str(), static_cast<unsigned long long>(acct->usage.bytes),
                static_cast<unsigned long long>(acct->usage.messages), autoreply ? "on" : "off");
    return kOk;
  }
  if (verb == "list") {
    if (a.pos.size() > 1) return fail("usage: ternctl user list [DOMAIN] [--json]", kUsage);
    std::string dom;
    if (!a.pos.empty()) {
      auto d = store::normalize_domain(a.pos[0]);
      if (!d) return fail("malformed domain: " + a.pos[0]);
      if (!s.domain_exists(*d)) return fail("unknown domain: " + *d);
      dom = *d;
    }
    auto r = s.list_accounts(dom);
    if (!r) return fail_store(r.error(), dom);
    if (a.json()) {
      std::string j = "[";
      for (auto& acc : *r) j += (j.size() > 1 ? "," : "") + account_json(acc, false) + "}";
      std::printf("%s]\n", j.c_str());
      return kOk;
    }
    for (auto& acc : *r)
      std::printf("%s %s quota=%s used=%s messages=%llu\n", acc.address.c_str(), acc.enabled ? "enabled" : "disabled",
                  acc.quota.bytes ? human_size(acc.quota.bytes).c_str() : "unlimited",
                  human_size(acc.usage.bytes).c_str(), static_cast<unsigned long long>(acc.usage.messages));
    return kOk;
  }
  return fail("unknown verb: user " + verb, kUsage);
}

int admin_cmd(const std::string& verb, const Args& a, Context& ctx) {
  store::Store& s = *ctx.store;
  int st = kOk;
  if (verb == "add") {
    if (!need(a, 1, "admin add NAME [--password-stdin] [--domains D1,D2]", st)) return st;
    store::Admin ad;
    ad.name = a.pos[0];
    if (ad.name.empty() || ad.name.size() > 64 || ad.name.find_first_of(" \t:/") != std::string::npos)
      return fail("bad admin name: " + ad.name);
    if (a.has("--password-stdin")) {
      auto h = hash_from_stdin(ctx, st);
      if (!h) return st;
      ad.password_hash = h->hash;
    }
    if (a.has("--domains")) {
      ad.global = false;
      std::stringstream ss(a.opts.at("--domains"));
      for (std::string d; std::getline(ss, d, ',');)
        if (!d.empty()) ad.domains.push_back(d);
    }
    auto r = s.add_admin(ad);
    if (!r) {
      if (r.error() == Errc::exists) return fail("admin already exists: " + ad.name);
      if (r.error() == Errc::unknown_domain) return fail("unknown domain in --domains: " + a.opts.at("--domains"));
      if (r.error() == Errc::invalid_argument) return fail("bad admin name or domain: " + ad.name);
      return fail_store(r.error(), ad.name);
    }
    std::printf("admin added: %s (%s)\n", ad.name.c_str(), ad.global ? "all domains" : a.opts.at("--domains").c_str());
    return kOk;
  }
  if (verb == "passwd") {
    if (!need(a, 1, "admin passwd NAME (new password on stdin)", st)) return st;
    auto ad = s.get_admin(a.pos[0]);
    if (!ad) return ad.error() == Errc::not_found ? fail("no such admin: " + a.pos[0]) : fail_store(ad.error(), a.pos[0]);
    auto h = hash_from_stdin(ctx, st);
    if (!h) return st;
    auto r = s.set_admin_password(a.pos[0], h->hash);
    if (!r) return fail_store(r.error(), a.pos[0]);
    std::printf("admin password changed: %s\n", a.pos[0].c_str());
    return kOk;
  }
  if (verb == "list") {
    if (!a.pos.empty()) return fail("usage: ternctl admin list [--json]", kUsage);
    auto r = s.list_admins();
    if (!r) return fail_store(r.error(), "");
    std::string j = "[";
    for (auto& ad : *r) {
      std::string doms, jd = "[";
      for (auto& d : ad.domains) {
        doms += (doms.empty() ? "" : ",") + d;
        jd += (jd.size() > 1 ? "," : "") + json_str(d);
      }
      if (a.json())
        j += (j.size() > 1 ? "," : "") + std::string("{\"name\":") + json_str(ad.name) +
             ",\"global\":" + (ad.global ? "true" : "false") + ",\"domains\":" + jd + "]}";
      else
        std::printf("%s %s\n", ad.name.c_str(), ad.global ? "global" : doms.c_str());
    }
    if (a.json()) std::printf("%s]\n", j.c_str());
    return kOk;
  }
  if (verb == "del") {
    if (!need(a, 1, "admin del NAME", st)) return st;
    auto r = s.del_admin(a.pos[0]);
    if (!r) return r.error() == Errc::not_found ? fail("no such admin: " + a.pos[0]) : fail_store(r.error(), a.pos[0]);
    std::printf("admin deleted: %s\n", a.pos[0].c_str());
    return kOk;
  }
  return fail("unknown verb: admin " + verb, kUsage);
}

}  // namespace tern::ctl
