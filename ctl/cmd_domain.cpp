// ternctl domain add|del|list|archive.
#include <cstdio>

#include "commands.hpp"

namespace tern::ctl {

namespace {
using store::Errc;

// normalize_domain refuses single labels and address literals, and maps U-labels to
// A-labels (IDNA): say which rule a refused name broke.
int bad_domain(const std::string& raw) {
  return fail("malformed domain: " + raw +
              " (a fully qualified name such as example.com; not a single label or an IP address)");
}
}  // namespace

int domain_cmd(const std::string& verb, const Args& a, Context& ctx) {
  store::Store& s = *ctx.store;
  int st = kOk;
  if (verb == "add" || verb == "del") {
    if (!need(a, 1, "domain add|del DOMAIN", st)) return st;
    auto d = store::normalize_domain(a.pos[0]);
    if (!d) return bad_domain(a.pos[0]);
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
    if (!a.pos.empty()) return fail("usage: ternctl domain list [--json]", kUsage);
    auto r = s.list_domains();
    if (!r) return fail_store(r.error(), "");
    std::string json = "[";
    for (auto& d : *r) {
      auto arch = s.get_domain_archive(d);
      std::string archive = arch ? *arch : std::string();
      if (a.json()) {
        json += (json.size() > 1 ? "," : "") + std::string("{\"domain\":") + json_str(d) +
                ",\"archive\":" + (archive.empty() ? "null" : json_str(archive)) + "}";
      } else if (!archive.empty()) {
        // The archive setting is shown only when set, so the plain listing stays one
        // domain per line.
        std::printf("%s  archive=%s\n", d.c_str(), archive.c_str());
      } else {
        std::printf("%s\n", d.c_str());
      }
    }
    if (a.json()) std::printf("%s]\n", json.c_str());
    return kOk;
  }
  if (verb == "archive") {
    if (!need(a, 2, "domain archive DOMAIN ADDRESS|off", st)) return st;
    auto d = store::normalize_domain(a.pos[0]);
    if (!d) return bad_domain(a.pos[0]);
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

}  // namespace tern::ctl
