#pragma once
// The store's side of the login pipeline (tern/auth/authenticator.hpp), the same for
// every daemon: the account lookup, the canonical login (normalize_address), and the
// per-install secret of the fake SCRAM salts.
#include <memory>

#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/store/store.hpp"

namespace tern::store {

// login → AccountRecord; nullopt for an unknown or malformed login; throws on a store
// error (the Authenticator answers TempFail). `s` must outlive the function.
auth::AccountLookup account_lookup(Store& s);

// AuthenticatorOptions::from_config plus canonical = normalize_address (falling back to
// auth::canonical_login for a malformed login) and the "scram-fake-salt" secret (an
// empty secret, i.e. per process, if the store cannot give one; logged); `service` names
// the daemon in the failed-login counters (/metrics).
auth::AuthenticatorOptions authenticator_options(const config::Config& cfg, Store& s,
                                                 auth::AuthService service = auth::AuthService::Other);

}  // namespace tern::store
