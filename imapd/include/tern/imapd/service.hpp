#pragma once
// ImapService: what every IMAP session of one tern-imapd process shares — the config,
// the store, the Authenticator (throttle + cache) and the parser limits. No Asio here;
// thread-safe.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/imap/command.hpp"
#include "tern/store/store.hpp"

namespace tern::net {
class ChangeNotifier;
}

namespace tern::imapd {

class ViewCache;

class ImapService {
 public:
  ImapService(const config::Config& cfg, store::Store& store);
  ~ImapService();

  const config::Config& config() const { return cfg_; }
  store::Store& store() { return store_; }
  auth::Authenticator& authenticator() { return auth_; }
  imap::ParserLimits parser_limits() const;
  std::size_t sequence_ranges() const { return cfg_.imap.sequence_ranges; }
  std::size_t nesting() const { return cfg_.imap.nesting; }
  // The process's one change notifier (tern/net/change_notifier.hpp): IDLE waits on it
  // for "client input or store change". nullptr (tests without one): IDLE then sees
  // changes only at its fallback recheck.
  net::ChangeNotifier* notifier() const { return notifier_; }
  void set_notifier(net::ChangeNotifier* n) { notifier_ = n; }
  // The process's snapshots of big mailboxes' views: SELECT reads only what changed
  // since (imapd/src/view_cache.hpp).
  ViewCache& view_cache() { return *view_cache_; }

 private:
  config::Config cfg_;
  store::Store& store_;
  auth::Authenticator auth_;
  net::ChangeNotifier* notifier_ = nullptr;
  std::unique_ptr<ViewCache> view_cache_;
};

}  // namespace tern::imapd
