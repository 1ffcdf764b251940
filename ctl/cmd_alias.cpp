// ternctl alias add|set|del|list and autoreply set|off|list|show.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.hpp"

namespace tern::ctl {

namespace {
using store::Errc;

// "a@x,b@y" → targets. An empty element ("a,,b", "a,", "") is an error: it is a typo,
// not a list of one.
std::optional<std::vector<std::string>> parse_targets(const std::string& list, int& st) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto comma = list.find(',', start);
    std::string t = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto n = store::normalize_address(t);
    if (t.find_first_not_of(" \t") == std::string::npos) {
      st = fail("empty target in \"" + list + "\"");
      return std::nullopt;
    }
    if (!n) {
      st = fail("malformed address: " + t);
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *n) == out.end()) out.push_back(*n);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int alias_error(std::error_code ec, const std::string& src, const std::string& targets) {
  if (ec == Errc::invalid_address) return fail("malformed address: " + src);
  if (ec == Errc::unknown_domain) return fail("unknown domain: " + domain_part(src));
  if (ec == Errc::exists) return fail("already exists: " + src + " (a user has this address)");
  if (ec == Errc::not_found) return fail("no such alias: " + src);
  if (ec == Errc::alias_loop) return fail("alias loop: " + src + " would expand back to itself (or nests too deep)");
  if (ec == Errc::no_such_user) return fail("a local target does not exist: " + targets);
  if (ec == Errc::invalid_argument) return fail("no target addresses");
  return fail_store(ec, src);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// A local target that is neither a user nor an alias (nor covered by a catch-all) is
// refused by the store (no_such_user) inside the same transaction as the write.

}  // namespace

int alias_cmd(const std::string& verb, const Args& a, Context& ctx) {
  store::Store& s = *ctx.store;
  int st = kOk;
  if (verb == "add" || verb == "set") {
    if (!need(a, 2, "alias " + verb + " SRC DST[,DST...]", st)) return st;
    const std::string& src = a.pos[0];
    auto targets = parse_targets(a.pos[1], st);
    if (!targets) return st;
    auto existing = s.get_alias(src);
    if (!existing && existing.error() != Errc::not_found) return alias_error(existing.error(), src, a.pos[1]);
    store::Result<void> r;
    std::vector<std::string> now = *targets;
    if (existing) {
      // add appends to an existing alias; set replaces its targets.
      if (verb == "add") {
        now = existing->targets;
        for (auto& t : *targets)
          if (std::find(now.begin(), now.end(), t) == now.end()) now.push_back(t);
      }
      r = s.set_alias(src, now);
    } else if (verb == "set") {
      return fail("no such alias: " + src + " (alias add creates it)");
    } else {
      r = s.add_alias(src, now);
    }
    if (!r) return alias_error(r.error(), src, a.pos[1]);
    std::printf("alias %s: %s -> %s\n", existing ? "updated" : "added", existing ? existing->source.c_str() : src.c_str(),
                join(now).c_str());
    return kOk;
  }
  if (verb == "del") {
    if (a.pos.size() != 1 && a.pos.size() != 2) return fail("usage: ternctl alias del SRC [DST]", kUsage);
    const std::string& src = a.pos[0];
    if (a.pos.size() == 2) {
      // One target out; the last one takes the alias with it.
      auto existing = s.get_alias(src);
      if (!existing) return alias_error(existing.error(), src, "");
      auto t = store::normalize_address(a.pos[1]);
      if (!t) return fail("malformed address: " + a.pos[1]);
      auto now = existing->targets;
      auto it = std::find(now.begin(), now.end(), *t);
      if (it == now.end()) return fail("not a target of " + existing->source + ": " + *t);
      now.erase(it);
      auto r = now.empty() ? s.del_alias(src) : s.set_alias(src, now);
      if (!r) return alias_error(r.error(), src, "");
      if (now.empty())
        std::printf("alias deleted: %s (its last target %s removed)\n", existing->source.c_str(), t->c_str());
      else
        std::printf("alias updated: %s -> %s\n", existing->source.c_str(), join(now).c_str());
      return kOk;
    }
    auto r = s.del_alias(src);
    if (!r) return alias_error(r.error(), src, "");
    std::printf("alias deleted: %s\n", src.c_str());
    return kOk;
  }
  if (verb == "list") {
    if (a.pos.size() > 1) return fail("usage: ternctl alias list [DOMAIN] [--json]", kUsage);
    std::string dom;
    if (!a.pos.empty()) {
      auto d = store::normalize_domain(a.pos[0]);
      if (!d) return fail("malformed domain: " + a.pos[0]);
      if (!s.domain_exists(*d)) return fail("unknown domain: " + *d);
      dom = *d;
    }
    auto r = s.list_aliases(dom);
    if (!r) return fail_store(r.error(), dom);
    std::string j = "[";
    for (auto& al : *r) {
      if (a.json()) {
        std::string jt = "[";
        for (auto& x : al.targets) jt += (jt.size() > 1 ? "," : "") + json_str(x);
        j += (j.size() > 1 ? "," : "") + std::string("{\"source\":") + json_str(al.source) + ",\"targets\":" + jt + "]}";
      } else {
        std::printf("%s -> %s\n", al.source.c_str(), join(al.targets).c_str());
      }
    }
    if (a.json()) std::printf("%s]\n", j.c_str());
    return kOk;
  }
  return fail("unknown verb: alias " + verb, kUsage);
}

int autoreply_cmd(const std::string& verb, const Args& a, Context& ctx) {
  store::Store& s = *ctx.store;
  int st = kOk;
  auto user_err = [](std::error_code ec, const std::string& addr) {
    if (ec == Errc::not_found) return fail("no such user: " + addr);
    if (ec == Errc::invalid_address) return fail("malformed address: " + addr);
    return fail_store(ec, addr);
  };
  if (verb == "set") {
    const char* usage = "autoreply set EMAIL --subject S --body-file F [--days N]";
    if (!need(a, 1, usage, st)) return st;
    auto addr = store::normalize_address(a.pos[0]);
    if (!addr) return fail("malformed address: " + a.pos[0]);
    if (!a.has("--subject") || !a.has("--body-file")) return fail(std::string("usage: ternctl ") + usage, kUsage);
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
    if (!r) return user_err(r.error(), *addr);
    std::printf("autoreply set: %s (every %u days per sender)\n", addr->c_str(), ar.days);
    return kOk;
  }
  if (verb == "off") {
    if (!need(a, 1, "autoreply off EMAIL", st)) return st;
    auto addr = store::normalize_address(a.pos[0]);
    if (!addr) return fail("malformed address: " + a.pos[0]);
    auto r = s.clear_autoreply(*addr);
    if (!r) return user_err(r.error(), *addr);
    std::printf("autoreply off: %s\n", addr->c_str());
    return kOk;
  }
  if (verb == "show") {
    if (!need(a, 1, "autoreply show EMAIL [--json]", st)) return st;
    auto addr = store::normalize_address(a.pos[0]);
    if (!addr) return fail("malformed address: " + a.pos[0]);
    auto r = s.get_autoreply(*addr);
    if (!r) return user_err(r.error(), *addr);
    if (a.json()) {
      if (!*r) std::printf("{\"address\":%s,\"enabled\":false}\n", json_str(*addr).c_str());
      else
        std::printf("{\"address\":%s,\"enabled\":true,\"subject\":%s,\"days\":%u,\"body\":%s}\n",
                    json_str(*addr).c_str(), json_str((*r)->subject).c_str(), (*r)->days,
                    json_str((*r)->body).c_str());
      return kOk;
    }
    if (!*r) {
      std::printf("autoreply off: %s\n", addr->c_str());
      return kOk;
    }
    std::printf("address: %s\nsubject: %s\ndays: %u\n\n%s", addr->c_str(), (*r)->subject.c_str(), (*r)->days,
                (*r)->body.c_str());
    if (!(*r)->body.empty() && (*r)->body.back() != '\n') std::printf("\n");
    return kOk;
  }
  if (verb == "list") {
    if (a.pos.size() > 1) return fail("usage: ternctl autoreply list [DOMAIN] [--json]", kUsage);
    std::string dom;
    if (!a.pos.empty()) {
      auto d = store::normalize_domain(a.pos[0]);
      if (!d) return fail("malformed domain: " + a.pos[0]);
      dom = *d;
    }
    auto accts = s.list_accounts(dom);
    if (!accts) return fail_store(accts.error(), dom);
    std::string j = "[";
    for (auto& acc : *accts) {
      auto r = s.get_autoreply(acc.address);
      if (!r) return fail_store(r.error(), acc.address);
      if (!*r) continue;
      if (a.json())
        j += (j.size() > 1 ? "," : "") + std::string("{\"address\":") + json_str(acc.address) +
             ",\"subject\":" + json_str((*r)->subject) + ",\"days\":" + std::to_string((*r)->days) + "}";
      else
        std::printf("%s days=%u subject=%s\n", acc.address.c_str(), (*r)->days, (*r)->subject.c_str());
    }
    if (a.json()) std::printf("%s]\n", j.c_str());
    return kOk;
  }
  return fail("unknown verb: autoreply " + verb, kUsage);
}

}  // namespace tern::ctl
