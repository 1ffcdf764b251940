// ternctl dkim generate DOMAIN [--selector S] [--algo rsa|ed25519] [--bits N]
//             | list [DOMAIN] [--json] | rotate DOMAIN | del DOMAIN SELECTOR
// Keys live in the store (Store::put_dkim_key) as PKCS#8 PEM. Outbound mail gets one
// signature per algorithm of the From domain's keys: with several keys of one algorithm
// (after rotate) the newest key whose TXT record DNS publishes signs, else the oldest
// (mta/queue/dkim_keys.hpp). Every verb that makes a key prints the exact DNS TXT record.
#include <cstdio>
#include <ctime>
#include <algorithm>

#include "commands.hpp"
#include "tern/dkim/key.hpp"

namespace tern::ctl {
namespace {

std::string default_selector(dkim::KeyType t, std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return std::string("t") + buf + (t == dkim::KeyType::rsa ? "r" : "e");
}

bool valid_selector(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    o += c;
  }
  return o + "\"";
}

int make_key(store::Store& s, const std::string& domain, const std::string& selector, dkim::KeyType type,
             unsigned bits) {
  std::string err;
  auto key = dkim::PrivateKey::generate(type, bits, &err);
  if (!key) return fail(err);
  store::DkimKey k;
  k.domain = domain;
  k.selector = selector;
  k.algorithm = std::string(dkim::key_type_name(type));
  k.private_key_pem = key->to_pem();
  k.created = static_cast<store::UnixTime>(std::time(nullptr));
  if (auto r = s.put_dkim_key(k); !r) return fail_store(r.error(), domain);
  std::printf("; %s key %s for %s (%u bits); publish:\n%s\n", k.algorithm.c_str(), selector.c_str(),
              domain.c_str(), key->bits(), dkim::dns_txt_zone_line(selector, domain, key->dns_txt()).c_str());
  return kOk;
}

}  // namespace

int dkim_cmd(const std::string& verb, const Args& a, store::Store& s) {
  auto domain_arg = [&](std::size_t i) -> std::optional<std::string> {
    if (a.pos.size() <= i) return std::nullopt;
    auto d = store::normalize_domain(a.pos[i]);
    return d;
  };
  if (verb == "generate") {
    if (a.pos.size() != 1) return fail("usage: ternctl dkim generate DOMAIN [--selector S] [--algo rsa|ed25519]", kUsage);
    auto d = domain_arg(0);
    if (!d) return fail("bad domain: " + a.pos[0]);
    if (!s.domain_exists(*d)) return fail("not a local domain: " + *d);
    std::string algo = a.has("--algo") ? a.opts.at("--algo") : "rsa";
    auto type = dkim::parse_key_type(algo);
    if (!type) return fail("bad --algo " + algo + " (rsa or ed25519)", kUsage);
    unsigned bits = 2048;
    if (a.has("--bits")) {
      try {
        bits = static_cast<unsigned>(std::stoul(a.opts.at("--bits")));
      } catch (...) {
        return fail("bad --bits", kUsage);
      }
    }
    std::string sel = a.has("--selector") ? a.opts.at("--selector") : default_selector(*type, std::time(nullptr));
    if (!valid_selector(sel)) return fail("bad selector " + sel + " (a-z, 0-9, -)", kUsage);
    auto existing = s.get_dkim_keys(*d);
    if (!existing) return fail_store(existing.error(), *d);
    for (const auto& k : *existing)
      if (k.selector == sel) return fail("selector " + sel + " exists for " + *d + " (ternctl dkim rotate makes a new one)");
    return make_key(s, *d, sel, *type, bits);
  }
  if (verb == "list") {
    std::vector<std::string> domains;
    if (!a.pos.empty()) {
      auto d = domain_arg(0);
      if (!d) return fail("bad domain: " + a.pos[0]);
      domains.push_back(*d);
    } else {
      auto all = s.list_domains();
      if (!all) return fail_store(all.error(), "");
      domains = *all;
    }
    bool json = a.has("--json");
    std::string out = json ? "[" : "";
    bool first = true;
    for (const auto& d : domains) {
      auto keys = s.get_dkim_keys(d);
      if (!keys) return fail_store(keys.error(), d);
      for (const auto& k : *keys) {
        std::string err;
        auto pk = dkim::PrivateKey::from_pem(k.private_key_pem, &err);
        std::string txt = pk ? pk->dns_txt() : "(unreadable key: " + err + ")";
        unsigned bits = pk ? pk->bits() : 0;
        if (json) {
          out += std::string(first ? "" : ",") + "{\"domain\":" + json_str(d) + ",\"selector\":" + json_str(k.selector) +
                 ",\"algorithm\":" + json_str(k.algorithm) + ",\"bits\":" + std::to_string(bits) +
                 ",\"created\":" + std::to_string(k.created) + ",\"dns_name\":" +
                 json_str(k.selector + "._domainkey." + d) + ",\"txt\":" + json_str(txt) + "}";
        } else {
          out += d + " " + k.selector + " " + k.algorithm + " " + std::to_string(bits) + " created=" +
                 std::to_string(k.created) + "\n  " + dkim::dns_txt_zone_line(k.selector, d, txt) + "\n";
        }
        first = false;
      }
    }
    if (json) out += "]\n";
    std::fputs(out.c_str(), stdout);
    return kOk;
  }
  if (verb == "rotate") {
    if (a.pos.size() != 1) return fail("usage: ternctl dkim rotate DOMAIN", kUsage);
    auto d = domain_arg(0);
    if (!d) return fail("bad domain: " + a.pos[0]);
    auto keys = s.get_dkim_keys(*d);
    if (!keys) return fail_store(keys.error(), *d);
    if (keys->empty()) return fail("no DKIM key for " + *d + " (use ternctl dkim generate)");
    // A new key for every algorithm the domain has; the old ones stay until deleted, so
    // mail signed before the switch still verifies.
    std::vector<dkim::KeyType> types;
    for (const auto& k : *keys)
      if (auto t = dkim::parse_key_type(k.algorithm); t && std::find(types.begin(), types.end(), *t) == types.end())
        types.push_back(*t);
    std::time_t now = std::time(nullptr);
    for (auto t : types) {
      std::string sel = default_selector(t, now);
      for (int n = 2; std::any_of(keys->begin(), keys->end(), [&](const store::DkimKey& k) { return k.selector == sel; }); ++n)
        sel = default_selector(t, now) + std::to_string(n);
      if (int rc = make_key(s, *d, sel, t, 2048); rc != kOk) return rc;
    }
    std::printf("; the old keys sign until tern sees the new records in DNS; publish them, then remove the old\n"
                "; keys with ternctl dkim del %s SELECTOR once mail signed with them is delivered\n", d->c_str());
    return kOk;
  }
  if (verb == "del") {
    if (a.pos.size() != 2) return fail("usage: ternctl dkim del DOMAIN SELECTOR", kUsage);
    auto d = domain_arg(0);
    if (!d) return fail("bad domain: " + a.pos[0]);
    if (auto r = s.del_dkim_key(*d, a.pos[1]); !r) return fail_store(r.error(), *d + " " + a.pos[1]);
    return kOk;
  }
  return fail("unknown verb: dkim " + verb + " (generate, list, rotate, del)", kUsage);
}

}  // namespace tern::ctl
