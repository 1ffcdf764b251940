#pragma once
// Internals of App shared by the page, API and action files (not installed).
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tern/web/app.hpp"
#include "tern/web/form.hpp"
#include "tern/web/html.hpp"
#include "tern/web/router.hpp"

namespace tern::web::detail {

namespace json = boost::json;

// Who is logged in.
struct Principal {
  enum class Kind { admin, user } kind = Kind::admin;
  std::string name;                  // admin name, or the mailbox address
  bool global = false;               // admins: every domain
  std::vector<std::string> domains;  // domain admins: these only
  std::string credential;            // fingerprint of the current password hash

  bool is_admin() const { return kind == Kind::admin; }
  bool is_global() const { return kind == Kind::admin && global; }
  bool can_domain(std::string_view d) const;
  bool can_address(std::string_view address) const;  // admin of its domain, or the user
  std::string id() const { return (is_admin() ? "admin:" : "user:") + name; }
};

struct Ctx {
  const Request& req;
  Params params;
  std::optional<Principal> who;
  store::WebSession session;     // token empty when authenticated by API token
  bool api = false;              // /api/...: JSON in and out
  Form form;                     // POST/PUT form fields (pages) or query (GET)
  json::object body;             // API request body (JSON object)
  const LoginVerdict* login = nullptr;  // login requests: the driver's verification
  const DnsLive* dns = nullptr;         // the DNS page: the driver's lookups
  std::string p(std::string_view name) const { return param(params, name); }
  // An input value: from the JSON body for the API, the form for pages.
  std::string in(std::string_view name) const;
  bool in_bool(std::string_view name) const;
};

// What an action did: status 200/201 = done; otherwise an error tied to a field
// ("" = the whole form). Pages show it next to the field, the API returns it as JSON.
struct Outcome {
  int status = 200;
  std::string field;
  std::string message;
  json::value data;  // API: the result object
  bool ok() const { return status < 300; }
  static Outcome error(int status, std::string field, std::string message) {
    return Outcome{status, std::move(field), std::move(message), nullptr};
  }
};

// Store error → HTTP status and a message for users.
Outcome store_error(std::error_code ec, std::string field = {});

using HandlerFn = Response (*)(struct Impl& app, Ctx& c);
struct Handler {
  HandlerFn fn = nullptr;
  bool pub = false;  // true: no login needed (login form, assets, autoconfig, health)
};
inline Handler authed(HandlerFn f) { return {f, false}; }
inline Handler open_route(HandlerFn f) { return {f, true}; }

struct Impl {
  const config::Config& cfg;
  store::Store& store;
  auth::Authenticator& auth;
  NowFn now_fn;
  WebMetrics metrics;
  Router<Handler> router;

  std::int64_t now() const;
};

// ---------------------------------------------------------------- helpers
std::string random_token(std::size_t bytes = 32);  // hex
std::string fingerprint(std::string_view password_hash);
std::string domain_of(std::string_view address);
std::string human_bytes(std::uint64_t b);
std::string format_time(std::int64_t t);           // "2026-12-01 08:00 UTC"
std::string format_date(std::int64_t t);           // "2026-12-01"
std::optional<std::int64_t> parse_date(std::string_view s);  // "YYYY-MM-DD" → 00:00 UTC
std::optional<std::uint64_t> parse_size_text(std::string_view s);  // "500M", "1G", "0"

Response redirect(std::string location);
Response json_response(int status, const json::value& v);
Response api_error(int status, std::string_view message, std::string_view field = {});
Response api_outcome(const Outcome& o);

// The HTML page frame: header, navigation for `who`, the body, footer.
struct PageMessages {
  std::string notice;                       // "Domain added."
  std::map<std::string, std::string> errors;  // field → message; "" = whole form
};
Response page(Impl& app, Ctx& c, std::string_view title, const Html& body, int status = 200);
Html csrf_field(const Ctx& c);
Html field_error(const PageMessages& m, const std::string& field);
Html form_error(const PageMessages& m);
Html notice(const PageMessages& m);
// "?ok=KEY" from a redirect after a successful POST → the fixed message for KEY.
std::string notice_for(const Ctx& c);
PageMessages messages_from(const Ctx& c, const Outcome* o = nullptr);
Html error_page_body(std::string_view message);
Response error_page(Impl& app, Ctx& c, int status, std::string_view message);
Response forbidden(Impl& app, Ctx& c);

// ---------------------------------------------------------------- route tables
void add_auth_routes(Router<Handler>& r);
void add_domain_routes(Router<Handler>& r);
void add_mailbox_routes(Router<Handler>& r);
void add_dashboard_routes(Router<Handler>& r);
void add_tracking_routes(Router<Handler>& r);
void add_queue_routes(Router<Handler>& r);
void add_api_routes(Router<Handler>& r);
void add_autoconfig_routes(Router<Handler>& r);
void add_misc_routes(Router<Handler>& r);  // /metrics, /healthz
void add_asset_routes(Router<Handler>& r);  // /assets/*
void add_self_routes(Router<Handler>& r);   // /me (mailbox users)
void add_dns_routes(Router<Handler>& r);    // /domains/D/dns, DKIM keys
// One domain's page (mailboxes, forwarders, archive), with messages and typed values.
Response domain_page(Impl& app, Ctx& c, const PageMessages& m, const Form& values);
// The delivery statistics of events (dashboard and /metrics share it, so they agree):
// the kind an event counts as and the domain it counts for, or -1 for none.
enum SeriesKind { kReceived, kDelivered, kSent, kRejected, kBounced, kKinds };
extern const char* const kSeriesName[kKinds];
int classify_event(const store::DeliveryEvent& e, std::string& domain);
// A short reason for grouping rejections: the detail up to the first ':' (48 chars max).
std::string rejection_reason(const std::string& detail);
// Client settings (autoconfig.cpp): the section shown on a mailbox page.
Html client_settings_html(Impl& app, const std::string& address);

// Login/session plumbing (session.cpp).
std::optional<Principal> load_principal(Impl& app, std::string_view id, std::string* hash_out);
Response start_session(Impl& app, Ctx& c, const Principal& who, std::string location);
bool check_csrf(const Ctx& c);

// ---------------------------------------------------------------- actions (actions.cpp)
// Each checks permissions and input, makes ONE store call (one transaction), and
// reports an Outcome. Pages and the API both call them.
Outcome act_add_domain(Impl& app, Ctx& c, const std::string& domain);
Outcome act_del_domain(Impl& app, Ctx& c, const std::string& domain);
Outcome act_set_archive(Impl& app, Ctx& c, const std::string& domain, const std::string& address);
Outcome act_add_mailbox(Impl& app, Ctx& c, const std::string& domain, const std::string& local,
                        const std::string& password, const std::string& quota);
Outcome act_set_password(Impl& app, Ctx& c, const std::string& address, const std::string& password,
                         const std::string& confirm);
Outcome act_set_quota(Impl& app, Ctx& c, const std::string& address, const std::string& quota);
Outcome act_set_enabled(Impl& app, Ctx& c, const std::string& address, bool enabled);
Outcome act_del_mailbox(Impl& app, Ctx& c, const std::string& address, const std::string& confirm);
Outcome act_add_forwarder(Impl& app, Ctx& c, const std::string& domain, const std::string& local,
                          const std::string& targets);
Outcome act_del_forwarder(Impl& app, Ctx& c, const std::string& source);
Outcome act_set_autoreply(Impl& app, Ctx& c, const std::string& address, const Ctx& input);
Outcome act_clear_autoreply(Impl& app, Ctx& c, const std::string& address);
Outcome act_set_forwarding(Impl& app, Ctx& c, const std::string& address, const std::string& targets, bool keep_copy);
Outcome act_clear_forwarding(Impl& app, Ctx& c, const std::string& address);
// DKIM keys of a domain (tern/store/dkim_admin.hpp, the code path of ternctl dkim).
Outcome act_dkim_generate(Impl& app, Ctx& c, const std::string& domain, const std::string& selector,
                          const std::string& algorithm);
Outcome act_dkim_rotate(Impl& app, Ctx& c, const std::string& domain, bool confirmed);
Outcome act_dkim_delete(Impl& app, Ctx& c, const std::string& domain, const std::string& selector,
                        const std::string& confirm);
Outcome act_queue_retry(Impl& app, Ctx& c, std::uint64_t id);
Outcome act_queue_delete(Impl& app, Ctx& c, std::uint64_t id);

// "a@x, b@y; c@z" (commas, spaces, semicolons or newlines between) → normalized,
// deduplicated addresses; nullopt with *why for a bad one, none, or more than `max`.
std::optional<std::vector<std::string>> parse_targets(const std::string& raw, std::size_t max, std::string& why);

// The records `ternctl dns DOMAIN` prints for this domain (pages_dns.cpp).
checks::DnsPlan dns_plan(Impl& app, const std::string& domain);
// What rotation does to the old selectors, in words (the confirmation shown).
std::string rotation_warning(const std::vector<store::DkimKey>& keys);

// Views used by both pages and the API.
json::object account_json(const store::Account& a);
json::object alias_json(const store::Alias& a);

// Domain statistics for the dashboard (dashboard.cpp).
struct Series {
  std::vector<std::uint64_t> received, delivered, sent, rejected, bounced;  // per bucket
};
struct DomainStats {
  std::string domain;
  std::uint64_t mailboxes = 0, used = 0, quota = 0;  // quota 0 = unlimited somewhere
  bool unlimited = false;
  Series day;    // 24 hourly buckets
  Series week;   // 7 daily buckets
  std::map<std::string, std::uint64_t> rejected_by_reason;  // 7 days
};
std::vector<DomainStats> compute_stats(Impl& app, const std::vector<std::string>& domains);

}  // namespace tern::web::detail
