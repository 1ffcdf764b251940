// ternctl: shared helpers, the table of nouns, and the store opening rules.
// Only `tern`'s first start or `ternctl init` creates a store; every other verb refuses
// a data_dir without one (so ternctl run from another directory never makes an empty
// store under ./var and "succeeds" there).
#include "commands.hpp"

#include <cstdio>
#include <iostream>
#include <set>

#include "tern/auth/password.hpp"

namespace tern::ctl {

int fail(const std::string& message, int status) {
  std::fprintf(stderr, "ternctl: %s\n", message.c_str());
  return status;
}

int fail_store(std::error_code ec, const std::string& subject) {
  std::string m = ec.message();
  if (!subject.empty()) m += ": " + subject;
  return fail(m, store::is_temporary(ec) ? kTempFail : kDataErr);
}

bool need(const Args& a, std::size_t n, const std::string& usage, int& status) {
  if (a.pos.size() != n) {
    status = fail("usage: ternctl " + usage, kUsage);
    return false;
  }
  return true;
}

std::string domain_part(const std::string& a) {
  auto at = a.rfind('@');
  return at == std::string::npos ? std::string() : a.substr(at + 1);
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

std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through
    }
  }
  return out + "\"";
}

std::optional<Hashed> hash_from_stdin(const Context& ctx, int& status) {
  std::string pw;
  if (!std::getline(std::cin, pw)) pw.clear();
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) {
    status = fail("no password on stdin");
    return std::nullopt;
  }
  // Counted in octets; a UTF-8 password is at least as long in characters as it looks.
  const std::size_t min = ctx.config.auth.password_min_length;
  if (pw.size() < min) {
    status = fail("password too short: at least " + std::to_string(min) +
                  " characters ([auth] password_min_length)");
    return std::nullopt;
  }
  try {
    Hashed h;
    h.hash = auth::hash_password(pw);
    if (auth::scram_password_acceptable(pw)) {
      auto c = auth::make_scram_credential(pw);
      h.scram = store::ScramCredential{c.salt, c.iterations, c.stored_key, c.server_key};
    }
    return h;
  } catch (const std::exception& e) {
    status = fail(std::string("cannot hash the password: ") + e.what());
    return std::nullopt;
  }
}

void print_usage() {
  std::fputs(
      "usage: ternctl [--config FILE | --data-dir DIR] VERB ...   (list/show verbs take --json)\n"
      "  init                         create the store in data_dir (tern does it on first start)\n"
      "  domain add|del DOMAIN | domain list | domain archive DOMAIN ADDRESS|off\n"
      "  user add EMAIL (--password-stdin | --password-hash HASH | --disabled)\n"
      "  user del EMAIL [--force] | user list [DOMAIN] | user show EMAIL\n"
      "  user passwd EMAIL (new password on stdin) | user quota EMAIL SIZE (0 = unlimited)\n"
      "  user enable|disable EMAIL\n"
      "  alias add SRC DST[,DST...] (appends to an existing alias) | alias set SRC DST[,DST...]\n"
      "  alias del SRC [DST] | alias list [DOMAIN]   (SRC @domain = catch-all)\n"
      "  autoreply set EMAIL --subject S --body-file F [--days N] | autoreply off EMAIL\n"
      "  autoreply list [DOMAIN] | autoreply show EMAIL\n"
      "  admin add NAME [--password-stdin] [--domains D1,D2] | admin passwd NAME | admin list | admin del NAME\n"
      "  dkim generate DOMAIN [--selector S] [--algo rsa|ed25519] | dkim list [DOMAIN] [--json]\n"
      "  dkim rotate DOMAIN | dkim del DOMAIN SELECTOR\n"
      "  dns DOMAIN [--check] [--json] [--ip ADDR,...]   (the DNS records to publish)\n"
      "  queue list [--json] | queue show ID | queue flush [ID] | queue delete ID\n"
      "  stats | status | check [--repair] | backup DIR | restore DIR (daemons stopped)\n"
      "exit status: 0 ok, 64 usage, 65 bad data, 69 unavailable, 75 temporary, 78 config\n",
      stdout);
}

namespace {

using NounFn = int (*)(const std::string& verb, const Args& a, Context& ctx);
using SingleFn = int (*)(const Args& a, Context& ctx);

struct Noun {
  const char* name;
  NounFn fn;
};
struct Single {
  const char* name;
  SingleFn fn;
  bool opens_store;  // false: the verb handles the store itself
};

int dkim_noun(const std::string& verb, const Args& a, Context& ctx) { return dkim_cmd(verb, a, *ctx.store); }
int dns_single(const Args& a, Context& ctx) { return dns_cmd(a, ctx, *ctx.store); }
int queue_noun(const std::string& verb, const Args& a, Context& ctx) { return queue_cmd(verb, a, *ctx.store); }

// One line per noun; helpers adding verbs add a line here and a cmd_<noun>.cpp.
const Noun kNouns[] = {
    {"domain", domain_cmd}, {"user", user_cmd}, {"alias", alias_cmd},
    {"autoreply", autoreply_cmd}, {"admin", admin_cmd}, {"dkim", dkim_noun}, {"queue", queue_noun},
};
const Single kSingles[] = {
    {"stats", stats_cmd, true},
    {"check", check_cmd, true},
    {"backup", backup_cmd, true},
    {"restore", restore_cmd, false},
    {"dns", dns_single, true},
};

bool store_exists(const std::filesystem::path& data_dir) {
  std::error_code ec;
  return std::filesystem::exists(data_dir / "store" / "data.mdb", ec);
}

int open_store(Context& ctx, store::StorePtr& holder, bool create) {
  if (!create && !store_exists(ctx.data_dir))
    return fail("no store in " + ctx.data_dir.string() +
                    " (tern creates it on first start; `ternctl init` creates it now; "
                    "--config FILE or --data-dir DIR name another)",
                kUnavailable);
  auto opened = store::Store::open(ctx.data_dir);
  if (!opened) {
    if (opened.error() == store::Errc::schema_too_new) return fail(opened.error().message(), kUnavailable);
    return fail("cannot open the store in " + (ctx.data_dir / "store").string() + ": " +
                    opened.error().message(),
                kTempFail);
  }
  holder = std::move(*opened);
  ctx.store = holder.get();
  return kOk;
}

}  // namespace

int run_command(const std::vector<std::string>& words, const Args& args_in, Context& ctx) {
  const std::string& noun = words[0];
  if (noun == "help") {
    print_usage();
    return kOk;
  }
  if (noun == "status") return cmd_status(ctx);
  Args args = args_in;
  store::StorePtr holder;
  if (noun == "init") {
    if (words.size() != 1) return fail("usage: ternctl init", kUsage);
    const bool existed = store_exists(ctx.data_dir);
    if (int st = open_store(ctx, holder, true); st != kOk) return st;
    std::printf("%s: %s\n", existed ? "store already exists" : "store created",
                (ctx.data_dir / "store").c_str());
    return kOk;
  }
  for (const Noun& n : kNouns) {
    if (noun != n.name) continue;
    if (words.size() < 2) return fail("usage: ternctl " + noun + " VERB ... (see ternctl --help)", kUsage);
    args.pos.assign(words.begin() + 2, words.end());
    if (int st = open_store(ctx, holder, false); st != kOk) return st;
    return n.fn(words[1], args, ctx);
  }
  for (const Single& s : kSingles) {
    if (noun != s.name) continue;
    args.pos.assign(words.begin() + 1, words.end());
    if (s.opens_store)
      if (int st = open_store(ctx, holder, false); st != kOk) return st;
    return s.fn(args, ctx);
  }
  return fail("unknown verb: " + noun + " (see ternctl --help)", kUsage);
}

}  // namespace tern::ctl
