#include "tern/store/login_source.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace tern::store {

auth::AccountLookup account_lookup(Store& s) {
  return [&s](std::string_view login) -> std::optional<auth::AccountRecord> {
    auto a = s.get_account(login);
    if (!a) {
      // A store failure is not "wrong password": the Authenticator reports TempFail.
      // Request errors (no such account, malformed login) are an unknown login.
      if (is_temporary(a.error())) throw std::runtime_error("store: " + a.error().message());
      return std::nullopt;
    }
    auth::AccountRecord r;
    r.id = a->id;
    r.address = a->address;
    r.password_hash = a->password_hash;
    r.enabled = a->enabled;
    if (a->scram) {
      auth::ScramCredential c;
      c.salt = a->scram->salt;
      c.iterations = a->scram->iterations;
      c.stored_key = a->scram->stored_key;
      c.server_key = a->scram->server_key;
      r.scram = std::move(c);
    }
    return r;
  };
}

auth::AuthenticatorOptions authenticator_options(const config::Config& cfg, Store& s, auth::AuthService service) {
  auto o = auth::AuthenticatorOptions::from_config(cfg);
  o.service = service;
  o.canonical = [](std::string_view login) {
    auto n = normalize_address(login);
    return n ? *n : auth::canonical_login(login);
  };
  if (auto sec = s.install_secret("scram-fake-salt")) o.fake_salt_secret = *sec;
  else
    spdlog::warn("no install secret for SCRAM fake salts ({}): using a per-process one",
                 sec.error().message());
  return o;
}

}  // namespace tern::store
