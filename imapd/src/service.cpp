#include "tern/imapd/service.hpp"

#include "tern/store/login_source.hpp"
#include "view_cache.hpp"

namespace tern::imapd {

ImapService::ImapService(const config::Config& cfg, store::Store& store)
    : cfg_(cfg),
      store_(store),
      auth_(store::account_lookup(store), store::authenticator_options(cfg, store, auth::AuthService::Imap)),
      view_cache_(std::make_unique<ViewCache>(cfg.imap.view_cache_size, cfg.imap.view_cache_messages)) {}

ImapService::~ImapService() = default;

imap::ParserLimits ImapService::parser_limits() const {
  imap::ParserLimits l;
  l.line_max = cfg_.imap.command_line;
  l.literal_max = cfg_.limits.message_size;
  l.nesting_max = cfg_.imap.nesting;
  l.literal_minus = false;  // we advertise LITERAL+ (RFC 7888 §3): any size up to the limit
  return l;
}

}  // namespace tern::imapd
