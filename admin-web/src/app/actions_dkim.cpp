// DKIM key actions of the DNS page: generate, rotate, delete. Key making is
// tern/store/dkim_admin.hpp, the code path of `ternctl dkim generate|rotate`, so the
// panel names selectors, sizes keys and refuses exactly as the CLI does.
#include <algorithm>

#include "app_impl.hpp"
#include "tern/dkim/key.hpp"
#include "tern/log/log.hpp"
#include "tern/store/dkim_admin.hpp"

namespace tern::web::detail {

namespace {

Outcome denied() { return Outcome::error(403, "", "you may not see or change this"); }

json::object key_json(const store::NewDkimKey& k) {
  return json::object{{"selector", k.key.selector},
                      {"algorithm", k.key.algorithm},
                      {"bits", k.bits},
                      {"created", k.key.created},
                      {"dns_name", k.key.selector + "._domainkey." + k.key.domain},
                      {"txt", k.txt},
                      {"zone_line", dkim::dns_txt_zone_line(k.key.selector, k.key.domain, k.txt)}};
}

}  // namespace

std::string rotation_warning(const std::vector<store::DkimKey>& keys) {
  std::string old;
  for (const auto& k : keys) old += (old.empty() ? "" : ", ") + k.selector;
  return "Rotating makes a new key (a new selector) for each algorithm this domain uses. The old selector" +
         std::string(keys.size() == 1 ? " " : "s ") + old +
         (keys.size() == 1 ? " is" : " are") +
         " NOT deleted and keeps signing outgoing mail until tern sees the new TXT record in DNS; from then on "
         "the new key signs. Publish the new record now; once mail signed with the old key has been delivered, "
         "delete the old key here (and later its DNS record).";
}

Outcome act_dkim_generate(Impl& app, Ctx& c, const std::string& domain, const std::string& selector_raw,
                          const std::string& algorithm) {
  if (!c.who->can_domain(domain)) return denied();
  std::string selector = selector_raw;
  while (!selector.empty() && selector.back() == ' ') selector.pop_back();
  while (!selector.empty() && selector.front() == ' ') selector.erase(0, 1);
  if (!selector.empty() && !store::valid_dkim_selector(selector))
    return Outcome::error(422, "selector", "lower-case letters, digits and '-', at most 63 (or empty for a dated one)");
  auto type = dkim::parse_key_type(algorithm.empty() ? "rsa" : algorithm);
  if (!type) return Outcome::error(422, "algorithm", "rsa or ed25519");
  std::string err;
  auto k = store::generate_dkim_key(app.store, domain, selector, *type, 2048, static_cast<std::time_t>(app.now()), &err);
  if (!k) {
    if (k.error() == store::Errc::exists)
      return Outcome::error(409, "selector", "this selector exists; rotate to make a new key");
    if (k.error() == store::Errc::unknown_domain) return Outcome::error(404, "", "there is no such domain");
    if (!err.empty()) return Outcome::error(422, "selector", err);
    return store_error(k.error(), "selector");
  }
  spdlog::info("web: {} made DKIM key {} ({}) for {}", c.who->id(), k->key.selector, k->key.algorithm, domain);
  Outcome o;
  o.status = 201;
  o.data = key_json(*k);
  return o;
}

Outcome act_dkim_rotate(Impl& app, Ctx& c, const std::string& domain, bool confirmed) {
  if (!c.who->can_domain(domain)) return denied();
  auto keys = app.store.get_dkim_keys(domain);
  if (!keys) return store_error(keys.error());
  if (keys->empty()) return Outcome::error(409, "", "this domain has no DKIM key yet: generate one first");
  if (!confirmed) return Outcome::error(422, "rotate", "tick the box to confirm: " + rotation_warning(*keys));
  std::string err;
  auto made = store::rotate_dkim_keys(app.store, domain, static_cast<std::time_t>(app.now()), &err);
  if (!made) {
    if (!err.empty()) return Outcome::error(409, "rotate", err);
    return store_error(made.error(), "rotate");
  }
  json::array fresh, old;
  for (const auto& k : *made) fresh.push_back(key_json(k));
  for (const auto& k : *keys) old.push_back(json::value(k.selector));
  spdlog::info("web: {} rotated the DKIM keys of {} ({} new)", c.who->id(), domain, made->size());
  Outcome o;
  o.status = 201;
  o.data = json::object{{"new", std::move(fresh)}, {"old_selectors_kept", std::move(old)}};
  return o;
}

Outcome act_dkim_delete(Impl& app, Ctx& c, const std::string& domain, const std::string& selector,
                        const std::string& confirm) {
  if (!c.who->can_domain(domain)) return denied();
  if (confirm != selector) return Outcome::error(422, "confirm_" + selector, "type the selector to confirm");
  auto r = app.store.del_dkim_key(domain, selector);
  if (!r) return store_error(r.error(), "confirm_" + selector);
  spdlog::info("web: {} deleted DKIM key {} of {}", c.who->id(), selector, domain);
  Outcome o;
  o.status = 204;
  return o;
}

}  // namespace tern::web::detail
