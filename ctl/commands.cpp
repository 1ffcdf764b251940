// ternctl verbs on the store: domain, user, alias, autoreply, admin, stats, check, backup.
// Every verb validates its input before writing; the store refuses the rest (typed
// errors) inside its transaction, so a failed verb changes nothing.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "tern/auth/password.hpp"
#include "tern/config/config.hpp"

namespace tern::ctl {
namespace {

using store::Errc;

std::string domain_part(const std::string& a) {
  auto at = a.rfind('@');
  return at == std::string::npos ? std::string() : a.substr(at + 1);
}

// One line from stdin without its line ending ("passwd" and "--password-stdin").
std::optional<std::string> read_password() {
  std::string pw;
  if (!std::getline(std::cin, pw)) return std::nullopt;
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  return pw;
}

struct Hashed {
  std::string hash;
  std::optional<store::ScramCredential> scram;
};

// A new yescrypt hash plus the SCRAM-SHA-256 credential (auth module).
std::optional<Hashed> hash_from_stdin(int& status) {
  auto pw = read_password();
  if (!pw || pw->empty()) {
    status = fail("no password on stdin");
    return std::nullopt;
  }
  try {
    Hashed h;
    h.hash = auth::hash_password(*pw);
    if (auth::scram_password_acceptable(*pw)) {
      auto c = auth::make_scram_credential(*pw);
      h.scram = store::ScramCredential{c.salt, c.iterations, c.stored_key, c.server_key};
    }
    return h;
  } catch (const std::exception& e) {
    status = fail(std::string("cannot hash the password: ") + e.what());
    return std::nullopt;
  }
}

std::string human_size(std::uint64_t b) {
  if (b == 0) return "0";
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  double v = static_cast<double>(b);
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(b));
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, units[u]);
  return buf;
}

bool need(const Args& a, std::size_t n, const char* usage, int& status) {
  if (a.pos.size() != n) {
    status = fail(std::string("usage: ternctl ") + usage, kUsage);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- domain
int domain_cmd(const std::string& verb, const Args& a, store::Store& s) {
  int st = kOk;
  if (verb == "add" || verb == "del") {
    if (!need(a, 1, "domain add|del DOMAIN", st)) return st;
    auto d = store::normalize_domain(a.pos[0]);
    if (!d) return fail("malformed domain: " + a.pos[0]);
    auto r = verb == "add" ? s.add_domain(*d) : s.del_domain(*d);
    if (!r) {
      if (r.error() == Errc::exists) return fail("domain already exists: " + *d);
      if (r.error() == Errc::not_found) return fail("unknown domain: " + *d);
      if (r.error() == Errc::not_permitted) return fail("domain still has users or aliases: " + *d);
      return fail_store(r.error(), *d);
    }
    std::printf("domain %s: %s\n", verb == "add" ? "added" : "deleted", d->c_str());
    return kOk;
  }
  if (verb == "list") {
    auto r = s.list_domains();
    if (!r) return fail_store(r.error(), "");
    for (auto& d : *r) {
      // The archive setting is shown only when set, so the plain listing stays one
      // domain per line.
      auto arch = s.get_domain_archive(d);
      if (arch && !arch->empty())
        std::printf("%s  archive=%s\n", d.c_str(), arch->c_str());
      else
        std::printf("%s\n", d.c_str());
    }
    return kOk;
  }
  if (verb == "archive") {
    if (!need(a, 2, "domain archive DOMAIN ADDRESS|off", st)) return st;
    auto d = store::normalize_domain(a.pos[0]);
    if (!d) return fail("malformed domain: " + a.pos[0]);
    if (!s.domain_exists(*d)) return fail("unknown domain: " + *d);
    std::string target;
    if (a.pos[1] != "off") {
      auto addr = store::normalize_address(a.pos[1]);
      if (!addr) return fail("malformed address: " + a.pos[1]);
      // The archive copies go to a mailbox of this server: the address must be a
      // local account (not an alias or a remote address).
      auto acct = s.get_account(*addr);
      if (!acct) {
        if (acct.error() == Errc::not_found || acct.error() == Errc::invalid_address)
          return fail("not a local account: " + *addr + " (the archive address must be a user of this server)");
        return fail_store(acct.error(), *addr);
      }
      target = *addr;
    }
    auto r = s.set_domain_archive(*d, target);
    if (!r) {
      if (r.error() == Errc::unknown_domain) return fail("unknown domain: " + *d);
      if (r.error() == Errc::invalid_address) return fail("malformed address: " + target);
      return fail_store(r.error(), *d);
    }
    if (target.empty())
      std::printf("domain archive: %s off\n", d->c_str());
    else
      std::printf("domain archive: %s -> %s\n", d->c_str(), target.c_str());
    return kOk;
  }
  return fail("unknown verb: domain " + verb, kUsage);
}

// ---------------------------------------------------------------- user
int user_error(std::error_code ec, const std::string& addr) {
  if (ec == Errc::invalid_address) return fail("malformed address: " + addr);
  if (ec == Errc::unknown_domain) return fail("unknown domain: " + domain_part(addr));
  if (ec == Errc::exists) return fail("already exists: " + addr + " (a user or alias has this address)");
  if (ec == Errc::not_found) return fail("no such user: " + addr);
  return fail_store(ec, addr);
}

int user_cmd(const std::string& verb, const Args& a, store::Store& s) {
  int st = kOk;
  auto addr_of = [&](const std::string& raw) -> std::optional<std::string> {
    auto n = store::normalize_address(raw);
    if (!n) st = fail("malformed address: " + raw);
    return n;
  };
  if (verb == "add") {
    if (!need(a, 1, "user add EMAIL [--password-stdin | --password-hash HASH]", st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    if (a.has("--password-stdin") && a.has("--password-hash"))
      return fail("give either --password-stdin or --password-hash", kUsage);
    if (!s.domain_exists(domain_part(*addr))) return fail("unknown domain: " + domain_part(*addr));
    store::NewAccount na;
    na.address = *addr;
    if (a.has("--password-hash")) {
      const std::string& h = a.opts.at("--password-hash");
      if (!auth::is_supported_hash(h)) return fail("unsupported password hash (use $y$, $6$ or $2b$ crypt hashes)");
      na.password_hash = h;
    } else if (a.has("--password-stdin")) {
      auto h = hash_from_stdin(st);
      if (!h) return st;
      na.password_hash = h->hash;
      na.scram = h->scram;
    }
    auto r = s.add_account(na);
    if (!r) return user_error(r.error(), *addr);
    std::printf("user added: %s\n", addr->c_str());
    return kOk;
  }
  if (verb == "del" || verb == "enable" || verb == "disable" || verb == "passwd") {
    if (!need(a, 1, ("user " + verb + " EMAIL").c_str(), st)) return st;
    auto addr = addr_of(a.pos[0]);
    if (!addr) return st;
    store::Result<void> r;
    if (verb == "del") {
      r = s.del_account(*addr);
    } else if (verb == "passwd") {
      if (!s.get_account(*addr)) return fail("no such user: " + *addr);
      auto h = hash_from_stdin(st);
      if (!h) return st;
      r = s.set_password(*addr, h->hash, h->scram);
    } else {
      r = s.set_enabled(*addr, verb == "enable");
    }
    if (!r) return user_error(r.error(), *addr);
    const char* done = verb == "del" ? "deleted" : verb == "passwd" ? "password changed" : verb == "enable" ? "enabled" : "disabled";
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
  if (verb == "list") {
    if (a.pos.size() > 1) return fail("usage: ternctl user list [DOMAIN]", kUsage);
    std::string dom;
    if (!a.pos.empty()) {
      auto d = store::normalize_domain(a.pos[0]);
      if (!d) return fail("malformed domain: " + a.pos[0]);
      if (!s.domain_exists(*d)) return fail("unknown domain: " + *d);
      dom = *d;
    }
    auto r = s.list_accounts(dom);
    if (!r) return fail_store(r.error(), dom);
    for (auto& acc : *r)
      std::printf("%s %s quota=%s used=%s messages=%llu\n", acc.address.c_str(), acc.enabled ? "enabled" : "disabled",
                  acc.quota.bytes ? human_size(acc.quota.bytes).c_str() : "unlimited",
                  human_size(acc.usage.bytes).c_str(), static_cast<unsigned long long>(acc.usage.messages));
    return kOk;
  }
  return fail("unknown verb: user " + verb, kUsage);
}

// ---------------------------------------------------------------- alias
int alias_cmd(const std::string& verb, const Args& a, store::Store& s) {
  int st = kOk;
  if (verb == "add") {
    if (!need(a, 2, "alias add SRC DST[,DST...]", st)) return st;
    const std::string& src = a.pos[0];
    std::vector<std::string> targets;
    std::stringstream ss(a.pos[1]);
    for (std::string t; std::getline(ss, t, ',');) {
      if (t.empty()) continue;
      if (!store::normalize_address(t)) return fail("malformed address: " + t);
      targets.push_back(t);
    }
    if (targets.empty()) return fail("no target addresses", kUsage);
    auto r = s.add_alias(src, targets);
    if (!r) {
      if (r.error() == Errc::invalid_address) return fail("malformed address: " + src);
      if (r.error() == Errc::unknown_domain) return fail("unknown domain: " + domain_part(src));
      if (r.error() == Errc::exists) return fail("already exists: " + src + " (a user or alias has this address)");
      if (r.error() == Errc::alias_loop) return fail("alias loop: " + src + " would expand back to itself (or nests too deep)");
      if (r.error() == Errc::no_such_user) return fail("a local target does not exist: " + a.pos[1]);
      return fail_store(r.error(), src);
    }
    std::printf("alias added: %s -> %s\n", src.c_str(), a.pos[1].c_str());
    return kOk;
  }
  if (verb == "del") {
    if (!need(a, 1, "alias del SRC", st)) return st;
    auto r = s.del_alias(a.pos[0]);
    if (!r) {
      if (r.error() == Errc::invalid_address) return fail("malformed address: " + a.pos[0]);
      if (r.error() == Errc::not_found) return fail("no such alias: " + a.pos[0]);
      return fail_store(r.error(), a.pos[0]);
    }
    std::printf("alias deleted: %s\n", a.pos[0].c_str());
    return kOk;
  }
  if (verb == "list") {
    if (a.pos.size() > 1) return fail("usage: ternctl alias list [DOMAIN]", kUsage);
    std::string dom = a.pos.empty() ? "" : a.pos[0];
    if (!dom.empty() && !s.domain_exists(dom)) return fail("unknown domain: " + dom);
    auto r = s.list_aliases(dom);
    if (!r) return fail_store(r.error(), dom);
    for (auto& al : *r) {
      std::string t;
      for (auto& x : al.targets) t += (t.empty() ? "" : ",") + x;
      std::printf("%s -> %s\n", al.source.c_str(), t.c_str());
    }
    return kOk;
  }
  return fail("unknown verb: alias " + verb, kUsage);
}

// ---------------------------------------------------------------- autoreply
int autoreply_cmd(const std::string& verb, const Args& a, store::Store& s) {
  int st = kOk;
  if (verb == "set") {
    if (!need(a, 1, "autoreply set EMAIL --subject S --body-file F [--days N]", st)) return st;
    auto addr = store::normalize_address(a.pos[0]);
    if (!addr) return fail("malformed address: " + a.pos[0]);
    if (!a.has("--subject") || !a.has("--body-file"))
      return fail("usage: ternctl autoreply set EMAIL --subject S --body-file F [--days N]", kUsage);
    store::AutoReply ar;
    ar.subject = a.opts.at("--subject");
    if (ar.subject.find_first_of("\r\n") != std::string::npos) return fail("the subject must be one line");
    std::ifstream in(a.opts.at("--body-file"), std::ios::binary);
    if (!in) return fail("cannot read body file: " + a.opts.at("--body-file"));
    std::stringstream body;
    body << in.rdbuf();
    ar.body = body.str();
    if (a.has("--days")) {
      const std::string& d = a.opts.at("--days");
      if (d.empty() || d.size() > 4 || d.find_first_not_of("0123456789") != std::string::npos || std::stoi(d) < 1)
        return fail("bad --days: " + d + " (a whole number of days, 1 or more)");
      ar.days = static_cast<std::uint32_t>(std::stoi(d));
    }
    auto r = s.set_autoreply(*addr, ar);
    if (!r) return user_error(r.error(), *addr);
    std::printf("autoreply set: %s (every %u days per sender)\n", addr->c_str(), ar.days);
    return kOk;
  }
  if (verb == "off") {
    if (!need(a, 1, "autoreply off EMAIL", st)) return st;
    auto addr = store::normalize_address(a.pos[0]);
    if (!addr) return fail("malformed address: " + a.pos[0]);
    auto r = s.clear_autoreply(*addr);
    if (!r) return user_error(r.error(), *addr);
    std::printf("autoreply off: %s\n", addr->c_str());
    return kOk;
  }
  return fail("unknown verb: autoreply " + verb, kUsage);
}

// ---------------------------------------------------------------- admin
int admin_cmd(const std::string& verb, const Args& a, store::Store& s) {
  int st = kOk;
  if (verb == "add") {
    if (!need(a, 1, "admin add NAME [--password-stdin] [--domains D1,D2]", st)) return st;
    store::Admin ad;
    ad.name = a.pos[0];
    if (ad.name.empty() || ad.name.size() > 64 || ad.name.find_first_of(" \t:/") != std::string::npos)
      return fail("bad admin name: " + ad.name);
    if (a.has("--password-stdin")) {
      auto h = hash_from_stdin(st);
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
  if (verb == "list") {
    auto r = s.list_admins();
    if (!r) return fail_store(r.error(), "");
    for (auto& ad : *r) {
      std::string doms;
      for (auto& d : ad.domains) doms += (doms.empty() ? "" : ",") + d;
      std::printf("%s %s\n", ad.name.c_str(), ad.global ? "global" : doms.c_str());
    }
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

// ---------------------------------------------------------------- stats, check, backup
int stats_cmd(store::Store& s) {
  auto r = s.stats();
  if (!r) return fail_store(r.error(), "");
  auto& x = *r;
  std::printf("domains: %llu\naccounts: %llu\naliases: %llu\nmailboxes: %llu\nmessages: %llu\n",
              static_cast<unsigned long long>(x.domains), static_cast<unsigned long long>(x.accounts),
              static_cast<unsigned long long>(x.aliases), static_cast<unsigned long long>(x.mailboxes),
              static_cast<unsigned long long>(x.messages));
  std::printf("bodies: %llu (%s)\nqueue: %llu\nevents: %llu\nfile: %s (in use %s)\nschema: %u\n",
              static_cast<unsigned long long>(x.blobs), human_size(x.blob_bytes).c_str(),
              static_cast<unsigned long long>(x.queue), static_cast<unsigned long long>(x.events),
              human_size(x.file_bytes).c_str(), human_size(x.used_bytes).c_str(), x.schema_version);
  return kOk;
}

int check_cmd(const Args& a, store::Store& s) {
  bool repair = a.has("--repair");
  auto r = s.check(repair);
  if (!r) return fail_store(r.error(), "");
  if (r->empty()) {
    std::printf("ok: no invariant breaches\n");
    return kOk;
  }
  bool unrepaired = false;
  for (auto& i : *r) {
    std::printf("%s: %s\n", i.repaired ? "repaired" : "breach", i.what.c_str());
    unrepaired = unrepaired || !i.repaired;
  }
  return unrepaired ? kFailed : kOk;
}

int backup_cmd(const Args& a, store::Store& s) {
  int st = kOk;
  if (!need(a, 1, "backup DIR", st)) return st;
  std::filesystem::path dir = a.pos[0];
  auto r = s.backup(dir);
  if (!r) {
    if (r.error() == Errc::exists) return fail("backup directory is not empty: " + (dir / "store").string());
    return fail_store(r.error(), dir.string());
  }
  std::printf("backup written: %s\n", (dir / "store" / "data.mdb").c_str());
  return kOk;
}

}  // namespace

int fail(const std::string& message, int status) {
  std::fprintf(stderr, "ternctl: %s\n", message.c_str());
  return status;
}

int fail_store(std::error_code ec, const std::string& subject) {
  std::string m = ec.message();
  if (!subject.empty()) m += ": " + subject;
  return fail(m, store::is_temporary(ec) ? kTempFail : kFailed);
}

void print_usage() {
  std::fputs(
      "usage: ternctl [--config FILE] VERB ...\n"
      "  domain add|del DOMAIN | domain list | domain archive DOMAIN ADDRESS|off\n"
      "  user add EMAIL [--password-stdin | --password-hash HASH]\n"
      "  user del EMAIL | user list [DOMAIN] | user passwd EMAIL (new password on stdin)\n"
      "  user quota EMAIL SIZE (0 = unlimited) | user enable|disable EMAIL\n"
      "  alias add SRC DST[,DST...] | alias del SRC | alias list [DOMAIN]   (SRC @domain = catch-all)\n"
      "  autoreply set EMAIL --subject S --body-file F [--days N] | autoreply off EMAIL\n"
      "  admin add NAME [--password-stdin] [--domains D1,D2] | admin list | admin del NAME\n"
      "  queue list [--json] | queue show ID | queue flush [ID] | queue delete ID\n"
      "  dkim generate DOMAIN [--selector S] [--algo rsa|ed25519] | dkim list [DOMAIN] [--json]\n"
      "  dkim rotate DOMAIN | dkim del DOMAIN SELECTOR\n"
      "  dns DOMAIN [--check] [--json] [--ip ADDR,...]   (the DNS records to publish)\n"
      "  stats | status | check [--repair] | backup DIR\n",
      stdout);
}

int run_command(const std::vector<std::string>& words, const Args& args_in, Context& ctx) {
  const std::string& noun = words[0];
  if (noun == "help") {
    print_usage();
    return kOk;
  }
  if (noun == "status") return cmd_status(ctx);
  static const std::set<std::string> kNouns = {"domain", "user", "alias", "autoreply", "admin", "dkim", "queue"};
  static const std::set<std::string> kSingle = {"stats", "check", "backup", "dns"};
  if (!kNouns.count(noun) && !kSingle.count(noun)) return fail("unknown verb: " + noun + " (see ternctl --help)", kUsage);
  if (kNouns.count(noun) && words.size() < 2) return fail("usage: ternctl " + noun + " VERB ... (see ternctl --help)", kUsage);

  Args args = args_in;
  args.pos.assign(words.begin() + (kNouns.count(noun) ? 2 : 1), words.end());

  auto opened = store::Store::open(ctx.data_dir);
  if (!opened) {
    if (opened.error() == Errc::schema_too_new) return fail(opened.error().message(), kFailed);
    return fail("cannot open the store in " + (ctx.data_dir / "store").string() + ": " + opened.error().message(),
                kTempFail);
  }
  store::Store& s = **opened;
  ctx.store = &s;
  if (noun == "domain") return domain_cmd(words[1], args, s);
  if (noun == "user") return user_cmd(words[1], args, s);
  if (noun == "alias") return alias_cmd(words[1], args, s);
  if (noun == "autoreply") return autoreply_cmd(words[1], args, s);
  if (noun == "admin") return admin_cmd(words[1], args, s);
  if (noun == "queue") return queue_cmd(words[1], args, s);
  if (noun == "dkim") return dkim_cmd(words[1], args, s);
  if (noun == "dns") return dns_cmd(args, ctx, s);
  if (noun == "stats") return args.pos.empty() ? stats_cmd(s) : fail("usage: ternctl stats", kUsage);
  if (noun == "check") return args.pos.empty() ? check_cmd(args, s) : fail("usage: ternctl check [--repair]", kUsage);
  return backup_cmd(args, s);
}

}  // namespace tern::ctl
