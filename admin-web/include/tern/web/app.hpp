#pragma once
// App: the whole web panel as a function Request → Response (pages, JSON API,
// autoconfiguration, /metrics, /healthz). No Beast, no sockets: the server driver
// (src/server) parses HTTP with Beast and calls handle(); unit tests call it directly.
//
// handle() is BLOCKING (store reads and commits, password hashing): the driver runs it
// on the blocking pool. Thread-safe.
//
// Logins (POST /login, /api/session, /api/tokens) are verified by the driver with the
// mail daemons' own exchange, auth::password_login (throttle, delays and the fixed
// failure time on the io thread, hash on the pool): login_input() names the pair,
// the driver verifies it and passes the LoginResult to handle(). The App never checks
// a password itself.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/auth/authenticator.hpp"
#include "tern/auth/login_outcome.hpp"
#include "tern/checks/dns_plan.hpp"
#include "tern/config/config.hpp"
#include "tern/store/store.hpp"
#include "tern/web/http.hpp"

namespace tern::web {

namespace detail {
struct Impl;
}

// Counters the driver and the app keep for /metrics.
struct WebMetrics {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> auth_failures{0};
  std::atomic<std::uint64_t> csrf_rejected{0};
  std::atomic<std::uint64_t> too_large{0};
  std::atomic<std::uint64_t> connections{0};  // open now (the driver updates it)
};

using NowFn = std::function<std::int64_t()>;  // Unix seconds; empty = the system clock

// Live DNS for the DNS page, looked up by the driver (see App::dns_job).
struct DnsLive {
  std::vector<checks::RecordCheck> records;  // one per DnsJob record, same order
  std::vector<std::string> nameservers;
  bool nameservers_known = false;
};

// What the driver's auth::password_login said about a login request.
struct LoginVerdict {
  auth::LoginOutcome outcome = auth::LoginOutcome::Failed;
  std::optional<auth::AccountRecord> account;  // Ok: id 0 + "admin:NAME" for admins
};

class App {
 public:
  // `auth` looks logins up in `store` (admins by name, then mailbox users by address),
  // see make_web_authenticator().
  App(const config::Config& cfg, store::Store& store, auth::Authenticator& auth, NowFn now = {});
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // The login and password of a login request (see above), or nullopt: not a login
  // request, or no usable pair in it. Cheap, non-blocking.
  struct LoginInput {
    std::string login;
    std::string password;
  };
  std::optional<LoginInput> login_input(const Request& req) const;

  // The DNS page (GET /domains/D/dns, /api/domains/D/dns) compares the plan with live
  // DNS. The App never resolves: for such a request by a principal who may see D,
  // dns_job() (BLOCKING: session and store reads) names the records; the driver looks
  // them up with the shared asynchronous resolver on its io thread
  // (tern/dns/plan_check.hpp) and passes the answers to handle(). nullopt for every
  // other request.
  struct DnsJob {
    std::string domain;
    std::string host;  // the planned mail host
    std::vector<checks::PlannedRecord> records;
  };
  std::optional<DnsJob> dns_job(const Request& req);
  // Cheap and non-blocking: whether req is a DNS page request at all (the driver calls
  // dns_job() only then).
  static bool wants_dns(const Request& req);

  // `login`: the verification of login_input(req) (nullptr for other requests).
  // `dns`: the driver's lookups for dns_job(req) (nullptr: not looked up; the page then
  // says so).
  Response handle(const Request& req, const LoginVerdict* login = nullptr, const DnsLive* dns = nullptr);

  WebMetrics& metrics();

 private:
  std::unique_ptr<detail::Impl> impl_;
};

// The Authenticator the panel uses: the same throttle, cache and hash verification as
// the mail daemons (common/auth). A login naming an admin (store admins) is an admin;
// otherwise it is looked up as a mailbox address. Admin records carry id 0 and the
// address "admin:NAME".
std::unique_ptr<auth::Authenticator> make_web_authenticator(const config::Config& cfg, store::Store& store);

}  // namespace tern::web
