// App::handle(): the request pipeline every page and API call goes through, in order:
// route → decode input → authenticate (session cookie or API token) → CSRF →
// handler → security headers. Handlers never skip a step: they are only reached
// through here.
#include <openssl/rand.h>

#include <ctime>
#include <stdexcept>

#include "app_impl.hpp"
#include "tern/log/log.hpp"
#include "tern/util/digest.hpp"
#include "tern/web/cookie.hpp"

namespace tern::web {

using namespace detail;

namespace detail {

std::int64_t Impl::now() const {
  if (now_fn) return now_fn();
  return static_cast<std::int64_t>(std::time(nullptr));
}

bool Principal::can_domain(std::string_view d) const {
  if (kind != Kind::admin) return false;
  if (global) return true;
  for (auto& x : domains)
    if (x == d) return true;
  return false;
}

bool Principal::can_address(std::string_view address) const {
  if (kind == Kind::user) return address == name;
  return can_domain(domain_of(address));
}

std::string Ctx::in(std::string_view name) const {
  if (!api) return form.get(name);
  auto it = body.find(name);
  if (it == body.end()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  if (it->value().is_int64()) return std::to_string(it->value().as_int64());
  if (it->value().is_uint64()) return std::to_string(it->value().as_uint64());
  if (it->value().is_bool()) return it->value().as_bool() ? "true" : "false";
  if (it->value().is_array()) {  // targets: ["a@x", "b@y"] → "a@x, b@y"
    std::string out;
    for (auto& v : it->value().as_array()) {
      if (!v.is_string()) continue;
      if (!out.empty()) out += ", ";
      out += std::string(v.as_string());
    }
    return out;
  }
  return {};
}

bool Ctx::in_bool(std::string_view name) const {
  std::string v = in(name);
  return v == "true" || v == "1" || v == "on" || v == "yes";
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

static std::string hex_of(std::string_view raw) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::string fingerprint(std::string_view password_hash) {
  return hex_of(util::sha256(password_hash)).substr(0, 32);
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(address.substr(at + 1));
}

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string format_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string format_date(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::optional<std::int64_t> parse_date(std::string_view s) {
  // YYYY-MM-DD (the value of <input type=date>), midnight UTC.
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != d) return std::nullopt;  // 2026-02-31
  return static_cast<std::int64_t>(t);
}

std::optional<std::uint64_t> parse_size_text(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  std::uint64_t mult = 1;
  char last = s.back();
  if (last == 'B' || last == 'b') {
    s.remove_suffix(1);
    if (!s.empty() && (s.back() == 'i')) s.remove_suffix(1);
    if (s.empty()) return std::nullopt;
    last = s.back();
  }
  switch (last) {
    case 'K': case 'k': mult = 1ull << 10; break;
    case 'M': case 'm': mult = 1ull << 20; break;
    case 'G': case 'g': mult = 1ull << 30; break;
    case 'T': case 't': mult = 1ull << 40; break;
    default: mult = 0;
  }
  if (mult) s.remove_suffix(1); else mult = 1;
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  if (v > (1ull << 50) / mult) return std::nullopt;
  return v * mult;
}

Outcome store_error(std::error_code ec, std::string field) {
  using store::Errc;
  if (ec == Errc::exists) return Outcome::error(409, field, "already exists");
  if (ec == Errc::not_found || ec == Errc::no_such_user) return Outcome::error(404, field, "not found");
  if (ec == Errc::invalid_address) return Outcome::error(422, field, "not a valid address");
  if (ec == Errc::unknown_domain) return Outcome::error(422, field, "that domain is not one of ours");
  if (ec == Errc::alias_loop) return Outcome::error(422, field, "this would make a forwarding loop");
  if (ec == Errc::not_permitted) return Outcome::error(409, field, "not permitted in the current state");
  if (ec == Errc::invalid_argument) return Outcome::error(422, field, "invalid value");
  if (store::is_temporary(ec)) return Outcome::error(503, "", "the store is busy or full; try again");
  return Outcome::error(500, "", "store error: " + ec.message());
}

Response redirect(std::string location) {
  Response r;
  r.status = 303;
  r.set("location", std::move(location));
  return r;
}

Response json_response(int status, const json::value& v) {
  Response r;
  r.status = status;
  r.set("content-type", "application/json");
  r.body = json::serialize(v);
  r.body += '\n';
  return r;
}

Response api_error(int status, std::string_view message, std::string_view field) {
  json::object o;
  json::object e;
  e["status"] = status;
  e["message"] = message;
  if (!field.empty()) e["field"] = field;
  o["error"] = std::move(e);
  return json_response(status, o);
}

Response api_outcome(const Outcome& o) {
  if (!o.ok()) return api_error(o.status, o.message, o.field);
  if (o.status == 204) {
    Response r;
    r.status = 204;
    return r;
  }
  return json_response(o.status, o.data.is_null() ? json::value(json::object{{"ok", true}}) : o.data);
}

}  // namespace detail

namespace {

constexpr std::string_view kSessionCookie = "tern_session";

bool state_changing(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

void security_headers(Response& r, bool tls) {
  // No inline script or style anywhere: everything comes from /assets/ (CSP Level 3).
  r.set("content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'");
  r.set("x-content-type-options", "nosniff");
  r.set("x-frame-options", "DENY");
  // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
  // form posts, which the Origin check must refuse.
  r.set("referrer-policy", "same-origin");
  r.set("cross-origin-opener-policy", "same-origin");
  r.set("cross-origin-resource-policy", "same-origin");
  r.set("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
  if (tls) r.set("strict-transport-security", "max-age=31536000");
  if (r.header("cache-control").empty()) r.set("cache-control", "no-store");
}

// The Host the browser used must be the Origin it sends (CSRF defence in depth,
// and the only one for the login form, which has no session yet).
bool origin_ok(const Request& req) {
  std::string_view origin = req.header("origin");
  if (origin.empty() || origin == "null") return origin.empty();
  std::string_view host = req.header("host");
  auto p = origin.find("://");
  if (p == std::string_view::npos) return false;
  return origin.substr(p + 3) == host;
}

// Authentication: an API token (Authorization: Bearer, /api only) or the session
// cookie; sets c.who (and c.session for cookies). Returns true when by token.
bool authenticate(Impl& app, Ctx& c) {
  const Request& req = c.req;
  bool via_token = false;
  std::string_view authz = req.header("authorization");
  if (c.api && authz.starts_with("Bearer ")) {
    std::string key = "api." + hex_of(util::sha256(authz.substr(7)));
    if (auto s = app.store.get_session(key, app.now())) {
      std::string hash;
      auto who = load_principal(app, s->admin, &hash);
      if (who && s->credential == who->credential) {
        c.who = std::move(who);
        via_token = true;
      }
    }
  } else if (auto cookie = find_cookie(req.header("cookie"), kSessionCookie)) {
    if (cookie->size() == 64 && cookie->find('.') == std::string::npos) {
      std::string key = "s." + hex_of(util::sha256(*cookie));
      std::int64_t now = app.now();
      if (auto s = app.store.get_session(key, now)) {
        std::string hash;
        auto who = load_principal(app, s->admin, &hash);
        bool fresh = s->created + app.cfg.web.session_lifetime.count() > now;
        if (who && fresh && s->credential == who->credential) {
          c.who = std::move(who);
          c.session = *s;
          // Idle expiry: move it on, at most once a minute (a write per request
          // would cost an fsync each).
          std::int64_t want = std::min<std::int64_t>(now + app.cfg.web.session_idle.count(),
                                                     s->created + app.cfg.web.session_lifetime.count());
          if (want - s->expires >= 60) {
            c.session.expires = want;
            (void)app.store.put_session(c.session);
          }
        } else {
          (void)app.store.del_session(key);  // password changed, account gone, or too old
        }
      }
    }
  }
  return via_token;
}

}  // namespace

App::App(const config::Config& cfg, store::Store& store, auth::Authenticator& auth, NowFn now)
    : impl_(new Impl{cfg, store, auth, std::move(now), {}, {}}) {
  auto& r = impl_->router;
  add_misc_routes(r);
  add_asset_routes(r);
  add_self_routes(r);
  add_autoconfig_routes(r);
  add_auth_routes(r);
  add_dashboard_routes(r);
  add_domain_routes(r);
  add_mailbox_routes(r);
  add_tracking_routes(r);
  add_queue_routes(r);
  add_dns_routes(r);
  add_api_routes(r);
}

App::~App() = default;

WebMetrics& App::metrics() { return impl_->metrics; }

std::optional<App::LoginInput> App::login_input(const Request& req) const {
  if (req.method != "POST") return std::nullopt;
  auto [path, query] = split_target(req.target);
  LoginInput in;
  if (path == "/login") {
    if (!req.header("content-type").starts_with("application/x-www-form-urlencoded")) return std::nullopt;
    auto f = parse_form(req.body);
    if (!f) return std::nullopt;
    in.login = f.form->get("login");
    in.password = f.form->get("password");
  } else if (path == "/api/session" || path == "/api/tokens") {
    if (!req.header("content-type").starts_with("application/json")) return std::nullopt;
    std::error_code ec;
    json::parse_options po;
    po.max_depth = 16;
    json::value v = json::parse(req.body, ec, {}, po);
    if (ec || !v.is_object()) return std::nullopt;
    auto& o = v.as_object();
    if (!o.contains("login") || !o.at("login").is_string() || !o.contains("password") || !o.at("password").is_string())
      return std::nullopt;
    in.login = std::string(o.at("login").as_string());
    in.password = std::string(o.at("password").as_string());
  } else {
    return std::nullopt;
  }
  // The limits the page states; an empty or oversized pair is not sent to the exchange.
  if (in.login.empty() || in.password.empty() || in.login.size() > 320 || in.password.size() > 1024) return std::nullopt;
  return in;
}

bool App::wants_dns(const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  auto [path, query] = split_target(req.target);
  Params p;
  return match_pattern(path.starts_with("/api/") ? "/api/domains/{domain}/dns" : "/domains/{domain}/dns", path, p);
}

std::optional<App::DnsJob> App::dns_job(const Request& req) {
  if (!wants_dns(req)) return std::nullopt;
  auto [path, query] = split_target(req.target);
  Params p;
  bool api = path.starts_with("/api/");
  if (!match_pattern(api ? "/api/domains/{domain}/dns" : "/domains/{domain}/dns", path, p)) return std::nullopt;
  Impl& app = *impl_;
  Ctx c{req, std::move(p), std::nullopt, {}, api, {}, {}, nullptr, nullptr};
  try {
    authenticate(app, c);
    std::string d = c.p("domain");
    if (!c.who || !c.who->can_domain(d) || !app.store.domain_exists(d)) return std::nullopt;
    return DnsJob{d, app.cfg.hostname, dns_plan(app, d).records};
  } catch (const std::exception& e) {
    spdlog::error("web: DNS job for {}: {}", path, e.what());
    return std::nullopt;
  }
}

Response App::handle(const Request& req, const LoginVerdict* login, const DnsLive* dns) {
  Impl& app = *impl_;
  app.metrics.requests++;
  Ctx c{req, {}, std::nullopt, {}, false, {}, {}, login, dns};
  auto [path, query] = split_target(req.target);
  c.api = path == "/api" || path.starts_with("/api/");
  Response res;
  try {
    auto m = app.router.match(req.method, path);
    if (!m.handler) {
      if (m.method_not_allowed)
        res = c.api ? api_error(405, "method not allowed") : error_page(app, c, 405, "Method not allowed.");
      else
        res = c.api ? api_error(404, "no such endpoint") : error_page(app, c, 404, "There is no such page.");
    } else {
      c.params = std::move(m.params);
      // Input: the query for every request; a form or JSON body for state changes.
      bool bad_input = false;
      std::string input_error;
      auto q = parse_form(query);
      if (!q) {
        bad_input = true;
        input_error = q.error->message;
      } else {
        c.form = std::move(*q.form);
      }
      std::string_view ctype = req.header("content-type");
      if (!bad_input && !req.body.empty()) {
        if (ctype.starts_with("application/x-www-form-urlencoded")) {
          auto f = parse_form(req.body);
          if (!f) {
            bad_input = true;
            input_error = f.error->message;
          } else {
            // Body fields first: Form::get returns the first match.
            std::vector<Form::Field> ordered = f.form->fields();
            for (auto& fl : c.form.fields()) ordered.push_back(fl);
            c.form = Form(std::move(ordered));
          }
        } else if (c.api && ctype.starts_with("application/json")) {
          json::parse_options po;
          po.max_depth = 16;
          std::error_code ec;
          json::value v = json::parse(req.body, ec, {}, po);
          if (ec || !v.is_object()) {
            bad_input = true;
            input_error = "the body must be a JSON object";
          } else {
            c.body = std::move(v.as_object());
          }
        } else if (!m.handler->pub) {  // open routes (autodiscover) read their own bodies
          res = c.api ? api_error(415, "send application/json")
                      : error_page(app, c, 415, "Unsupported form encoding.");
          security_headers(res, req.tls);
          return res;
        }
      }

      // Authentication: an API token (Authorization: Bearer) or the session cookie.
      bool via_token = authenticate(app, c);
      if (!m.handler->pub && !c.who) {
        if (c.api) {
          res = api_error(401, "log in first (session cookie or Authorization: Bearer TOKEN)");
          res.set("www-authenticate", "Bearer realm=\"tern\"");
        } else {
          res = redirect("/login");
        }
      } else if (state_changing(req.method) && !origin_ok(req)) {
        app.metrics.csrf_rejected++;
        res = c.api ? api_error(403, "cross-origin request refused")
                    : error_page(app, c, 403, "Cross-origin request refused.");
      } else if (state_changing(req.method) && c.who && !via_token && !check_csrf(c)) {
        app.metrics.csrf_rejected++;
        res = c.api ? api_error(403, "missing or wrong X-CSRF-Token")
                    : error_page(app, c, 403, "The form expired or did not come from this panel. Reload the page and try again.");
      } else if (bad_input) {
        res = c.api ? api_error(400, input_error) : error_page(app, c, 400, input_error);
      } else {
        res = m.handler->fn(app, c);
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("web: {} {}: {}", req.method, path, e.what());
    res = c.api ? api_error(500, "internal error") : error_page(app, c, 500, "Internal error.");
  }
  if (req.method == "HEAD") res.body.clear();
  security_headers(res, req.tls);
  return res;
}

}  // namespace tern::web
