// Logins, sessions and CSRF.
//  - Passwords go through common/auth's login exchange (auth::password_login, run by
//    the driver): the same throttle, delays, failure timing, cache and hash
//    verification as tern-pop3d/tern-mta/tern-imapd.
//  - The session cookie holds 32 random bytes (hex); the store keeps only
//    "s." + SHA-256(cookie), so a copy of the store does not hand out sessions. API
//    tokens are kept the same way under "api." + SHA-256(token).
//  - Each session records a fingerprint of the password hash at login; a request whose
//    principal's hash has changed since (any password change, by the panel or ternctl)
//    is logged out: "logout everywhere".
//  - Idle expiry [web] session_idle, absolute expiry [web] session_lifetime.
#include "app_impl.hpp"
#include "tern/log/log.hpp"
#include "tern/store/login_source.hpp"
#include "tern/util/digest.hpp"
#include "tern/web/cookie.hpp"

namespace tern::web {

using namespace detail;

namespace detail {

static std::string hexs(std::string_view raw) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char ch : raw) {
    out.push_back(hex[ch >> 4]);
    out.push_back(hex[ch & 15]);
  }
  return out;
}

std::optional<Principal> load_principal(Impl& app, std::string_view id, std::string* hash_out) {
  Principal p;
  if (id.starts_with("admin:")) {
    auto a = app.store.get_admin(id.substr(6));
    if (!a) return std::nullopt;
    p.kind = Principal::Kind::admin;
    p.name = a->name;
    p.global = a->global;
    p.domains = a->domains;
    p.credential = fingerprint(a->password_hash);
    if (hash_out) *hash_out = a->password_hash;
    return p;
  }
  if (id.starts_with("user:")) {
    auto a = app.store.get_account(id.substr(5));
    if (!a || !a->enabled) return std::nullopt;
    p.kind = Principal::Kind::user;
    p.name = a->address;
    p.credential = fingerprint(a->password_hash);
    if (hash_out) *hash_out = a->password_hash;
    return p;
  }
  return std::nullopt;
}

bool check_csrf(const Ctx& c) {
  if (c.session.csrf.empty()) return false;
  std::string given = c.api ? std::string(c.req.header("x-csrf-token")) : c.form.get("_csrf");
  if (given.size() != c.session.csrf.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ c.session.csrf[i]);
  return diff == 0;
}

Response start_session(Impl& app, Ctx& c, const Principal& who, std::string location) {
  std::string cookie = random_token(32);
  store::WebSession s;
  s.token = "s." + hexs(util::sha256(cookie));
  s.admin = who.id();
  s.csrf = random_token(32);
  std::int64_t now = app.now();
  s.created = now;
  s.expires = now + std::min(app.cfg.web.session_idle, app.cfg.web.session_lifetime).count();
  s.credential = who.credential;
  if (auto r = app.store.put_session(s); !r) return error_page(app, c, 503, "Cannot save the session; try again.");
  Response res = c.api ? json_response(200, json::object{{"csrf_token", s.csrf}, {"login", who.name},
                                                          {"role", who.is_admin() ? (who.global ? "admin" : "domain-admin") : "user"}})
                       : redirect(std::move(location));
  CookieOptions o;
  o.secure = c.req.tls;
  res.add("set-cookie", set_cookie("tern_session", cookie, o));
  c.session = s;
  return res;
}

}  // namespace detail

namespace {

struct LoginAttempt {
  bool ok = false;
  int status = 200;
  std::string message;
  Principal who;
};

// The driver verified the pair with auth::password_login (the mail daemons' exchange:
// throttle, delay, fixed failure time); this turns its verdict into a principal.
LoginAttempt try_login(Impl& app, const Ctx& c) {
  LoginAttempt a;
  if (!c.login) {
    a.status = 422;
    a.message = "Enter your login and password.";
    return a;
  }
  using auth::LoginOutcome;
  if (c.login->outcome == LoginOutcome::Throttled) {
    app.metrics.auth_failures++;
    a.status = 429;
    a.message = "Too many failed logins. Wait a minute and try again.";
    return a;
  }
  if (c.login->outcome == LoginOutcome::TempFail) {
    a.status = 503;
    a.message = "The login service is unavailable; try again.";
    return a;
  }
  if (c.login->outcome != LoginOutcome::Ok || !c.login->account) {
    app.metrics.auth_failures++;
    a.status = 401;
    a.message = "Wrong login or password.";
    return a;
  }
  const auto& acc = *c.login->account;
  std::string id = acc.id == 0 ? acc.address : "user:" + acc.address;
  auto who = load_principal(app, id, nullptr);
  if (!who) {
    a.status = 401;
    a.message = "Wrong login or password.";
    return a;
  }
  a.ok = true;
  a.who = std::move(*who);
  return a;
}

Html login_form(const std::string& login, const std::string& error) {
  return render(R"(<section class="login card">
<h1>Sign in</h1>
<p class="muted">Administrators use their admin name; mailbox users their email address.</p>
{{error}}
<form method="post" action="/login" class="stack">
<label for="login">Login</label>
<input id="login" name="login" type="text" autocomplete="username" required maxlength="320" value="{{login}}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" class="primary">Sign in</button>
</form>
</section>)",
                {{"login", login},
                 {"error", error.empty() ? Html() : render(R"(<p class="error" role="alert">{{m}}</p>)", {{"m", error}})}});
}

Response get_login(Impl& app, Ctx& c) {
  if (c.who) return redirect("/");
  return page(app, c, "Sign in", login_form("", ""));
}

Response post_login(Impl& app, Ctx& c) {
  std::string login = c.form.get("login");
  LoginAttempt a = try_login(app, c);
  if (!a.ok) {
    // The password is never echoed back; the login name is (escaped).
    return page(app, c, "Sign in", login_form(login, a.message), a.status == 401 ? 200 : a.status);
  }
  return start_session(app, c, a.who, "/");
}

Response post_logout(Impl& app, Ctx& c) {
  if (!c.session.token.empty()) (void)app.store.del_session(c.session.token);
  Response r = c.api ? json_response(200, json::object{{"ok", true}}) : redirect("/login");
  CookieOptions o;
  o.secure = c.req.tls;
  o.max_age = std::chrono::seconds(0);
  r.add("set-cookie", set_cookie("tern_session", "", o));
  return r;
}

// API login: JSON {login, password} → session cookie + csrf_token (for browsers and
// scripts that prefer cookies).
Response api_login(Impl& app, Ctx& c) {
  LoginAttempt a = try_login(app, c);
  if (!a.ok) return api_error(a.status, a.message);
  return start_session(app, c, a.who, "/");
}

// API token for scripts: JSON {login, password, name?} → {"token": "..."}; shown once.
// The token stands for the login's rights until it expires (a year) or the password
// changes.
Response api_new_token(Impl& app, Ctx& c) {
  LoginAttempt a = try_login(app, c);
  if (!a.ok) return api_error(a.status, a.message);
  std::string name = c.in("name");
  if (name.size() > 64 || !is_clean_text(name, true)) return api_error(422, "name: at most 64 characters of text", "name");
  std::string token = "tern_" + random_token(32);
  store::WebSession s;
  s.token = "api." + hexs(util::sha256(token));
  s.admin = a.who.id();
  s.csrf = name;  // no CSRF for tokens (a browser never sends them on its own)
  std::int64_t now = app.now();
  s.created = now;
  s.expires = now + 365 * 86400;
  s.credential = a.who.credential;
  if (!app.store.put_session(s)) return api_error(503, "cannot save the token; try again");
  spdlog::info("web: API token \"{}\" made for {} from {}", name, a.who.id(), c.req.peer_ip);
  return json_response(201, json::object{{"token", token}, {"expires", s.expires}, {"login", a.who.name}});
}

Response api_whoami(Impl&, Ctx& c) {
  json::object o;
  o["login"] = c.who->name;
  o["role"] = c.who->is_admin() ? (c.who->global ? "admin" : "domain-admin") : "user";
  json::array d;
  for (auto& x : c.who->domains) d.push_back(json::value(x));
  o["domains"] = std::move(d);
  if (!c.session.csrf.empty()) o["csrf_token"] = c.session.csrf;
  return json_response(200, o);
}

}  // namespace

namespace detail {
void add_auth_routes(Router<Handler>& r) {
  r.add("GET", "/login", open_route(get_login));
  r.add("POST", "/login", open_route(post_login));
  r.add("POST", "/logout", authed(post_logout));
  r.add("POST", "/api/session", open_route(api_login));
  r.add("DELETE", "/api/session", authed(post_logout));
  r.add("GET", "/api/session", authed(api_whoami));
  r.add("POST", "/api/tokens", open_route(api_new_token));
}
}  // namespace detail

std::unique_ptr<auth::Authenticator> make_web_authenticator(const config::Config& cfg, store::Store& store) {
  auto lookup = [&store](std::string_view login) -> std::optional<auth::AccountRecord> {
    auto ad = store.get_admin(login);
    if (ad) {
      auth::AccountRecord r;
      r.id = 0;
      r.address = "admin:" + ad->name;
      r.password_hash = ad->password_hash;
      return r;
    }
    if (ad.error() != store::Errc::not_found && ad.error() != store::Errc::invalid_argument)
      throw std::runtime_error("store: " + ad.error().message());
    auto a = store.get_account(login);
    if (!a) {
      if (a.error() == store::Errc::not_found || a.error() == store::Errc::invalid_address) return std::nullopt;
      throw std::runtime_error("store: " + a.error().message());
    }
    auth::AccountRecord r;
    r.id = a->id;
    r.address = a->address;
    r.password_hash = a->password_hash;
    r.enabled = a->enabled;
    return r;
  };
  return std::make_unique<auth::Authenticator>(lookup, store::authenticator_options(cfg, store, auth::AuthService::Web));
}

}  // namespace tern::web
