#include "tern/imapd/service.hpp"

#include <stdexcept>

namespace tern::imapd {

std::optional<auth::AccountRecord> ImapService::lookup_account(store::Store& s,
                                                               std::string_view login) {
  auto a = s.get_account(login);
  if (!a) {
    auto ec = a.error();
    if (ec == store::Errc::not_found || ec == store::Errc::invalid_address) return std::nullopt;
    // A store failure is not "wrong password": the Authenticator reports TempFail.
    throw std::runtime_error("store: " + ec.message());
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
}

ImapService::ImapService(const config::Config& cfg, store::Store& store)
    : cfg_(cfg),
      store_(store),
      auth_([&store](std::string_view login) { return lookup_account(store, login); },
            auth::AuthenticatorOptions::from_config(cfg)) {}

imap::ParserLimits ImapService::parser_limits() const {
  imap::ParserLimits l;
  l.line_max = cfg_.imap.command_line;
  l.literal_max = cfg_.limits.message_size;
  l.nesting_max = cfg_.imap.nesting;
  l.literal_minus = false;  // we advertise LITERAL+ (RFC 7888 §3): any size up to the limit
  return l;
}

}  // namespace tern::imapd
