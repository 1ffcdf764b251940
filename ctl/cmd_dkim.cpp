// ternctl dkim generate DOMAIN [--selector S] [--algo rsa|ed25519] [--bits N]
//             | list [DOMAIN] [--json] | rotate DOMAIN | del DOMAIN SELECTOR
// Keys live in the store (Store::put_dkim_key) as PKCS#8 PEM. Outbound mail gets one
// signature per algorithm of the From domain's keys: with several keys of one algorithm
// (after rotate) the newest key whose TXT record DNS publishes signs, else the oldest
// (mta/queue/dkim_keys.hpp). generate and rotate are tern/store/dkim_admin.hpp, shared
// with the web panel. Every verb that makes a key prints the exact DNS TXT record.
#include <cstdio>
#include <ctime>
#include <algorithm>

#include "commands.hpp"
#include "tern/dkim/key.hpp"
#include "tern/store/dkim_admin.hpp"

namespace tern::ctl {
namespace {

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') { o += "\\n"; continue; }
    o += c;
  }
  return o + "\"";
}

// Prints the record of a key made by store::generate_dkim_key / rotate_dkim_keys (the
// code path the web panel uses too).
void print_key(const store::NewDkimKey& k) {
  std::printf("; %s key %s for %s (%u bits); publish:\n%s\n", k.key.algorithm.c_str(), k.key.selector.c_str(),
              k.key.domain.c_str(), k.bits, dkim::dns_txt_zone_line(k.key.selector, k.key.domain, k.txt).c_str());
}

int key_error(std::error_code ec, const std::string& err, const std::string& what) {
  if (!err.empty()) return fail(err);
  return fail_store(ec, what);
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
    std::string sel = a.has("--selector") ? a.opts.at("--selector") : "";
    if (!sel.empty() && !store::valid_dkim_selector(sel)) return fail("bad selector " + sel + " (a-z, 0-9, -)", kUsage);
    std::string err;
    auto k = store::generate_dkim_key(s, *d, sel, *type, bits, std::time(nullptr), &err);
    if (!k && k.error() == store::Errc::exists)
      return fail(err + " (ternctl dkim rotate makes a new one)");
    if (!k) return key_error(k.error(), err, *d);
    print_key(*k);
    return kOk;
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
    // A new key for every algorithm the domain has (tern/store/dkim_admin.hpp, shared
    // with the web panel); the old ones stay until deleted.
    std::string err;
    auto made = store::rotate_dkim_keys(s, *d, std::time(nullptr), &err);
    if (!made) return key_error(made.error(), err, *d);
    for (const auto& k : *made) print_key(k);
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
