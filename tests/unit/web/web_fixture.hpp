#pragma once
// The tern-web unit tests' fixture: an App over a real store in a temp dir (two domains,
// a global admin "root", a domain admin "ex" of example.test, alice@example.test and
// bob@other.test), requests straight to App::handle(), no sockets.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>

#include "../store/store_fixture.hpp"
#include "tern/auth/password.hpp"
#include "tern/config/config.hpp"
#include "tern/web/app.hpp"
#include "tern/web/form.hpp"

namespace tern::web::test {

using store::test::TempDir;

struct Web {
  TempDir dir;
  store::StorePtr store;
  config::Config cfg;
  std::unique_ptr<auth::Authenticator> auth;
  std::unique_ptr<App> app;
  std::int64_t now = 1'800'000'000;

  Web() {
    cfg = config::parse_config(
        "hostname = \"mx.example.test\"\n[imaps]\nlisten = [\"127.0.0.1:993\"]\n[pop3s]\nlisten = "
        "[\"127.0.0.1:995\"]\n[submission]\nlisten = [\"127.0.0.1:587\"]\n[submissions]\nlisten = "
        "[\"127.0.0.1:465\"]\n[web]\nlisten = [\"127.0.0.1:8080\"]\nsession_idle = \"30m\"\nsession_lifetime = \"2h\"\n",
        "test");
    cfg.data_dir = dir.path;
    auto s = store::Store::open(dir.path);
    REQUIRE(s);
    store = std::move(*s);
    REQUIRE(store->add_domain("example.test"));
    REQUIRE(store->add_domain("other.test"));
    std::string h = auth::hash_password("rootpassword1");
    REQUIRE(store->add_admin(store::Admin{"root", h, true, {}}));
    REQUIRE(store->add_admin(store::Admin{"ex", auth::hash_password("expassword12"), false, {"example.test"}}));
    store::NewAccount a;
    a.address = "alice@example.test";
    a.password_hash = auth::hash_password("alicepassword1");
    REQUIRE(store->add_account(a));
    a.address = "bob@other.test";
    a.password_hash = auth::hash_password("bobpassword12");
    REQUIRE(store->add_account(a));
    auth = make_web_authenticator(cfg, *store);
    app = std::make_unique<App>(cfg, *store, *auth, [this] { return now; });
  }

  Response req(std::string method, std::string target, std::string body = {}, std::string cookie = {},
               std::string ctype = "application/x-www-form-urlencoded", std::vector<Header> extra = {}) {
    Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    auto [p, q] = split_target(r.target);
    r.path = p;
    r.query = q;
    r.body = std::move(body);
    r.peer_ip = "192.0.2.1";
    r.headers.push_back({"host", "mx.example.test"});
    if (!cookie.empty()) r.headers.push_back({"cookie", "tern_session=" + cookie});
    if (!r.body.empty()) r.headers.push_back({"content-type", ctype});
    for (auto& h : extra) r.headers.push_back(h);
    // What the driver does for a login: the pair goes through the Authenticator
    // (here blocking; tern-web runs auth::password_login on the io thread).
    if (auto li = app->login_input(r)) {
      LoginVerdict v;
      if (auth->check_allowed(r.peer_ip, li->login).refuse) {
        v.outcome = auth::LoginOutcome::Throttled;
      } else {
        auto res = auth->verify(r.peer_ip, li->login, li->password);
        v.outcome = res.ok() ? auth::LoginOutcome::Ok
                    : res.status == auth::AuthStatus::Refused ? auth::LoginOutcome::Throttled
                    : res.status == auth::AuthStatus::TempFail ? auth::LoginOutcome::TempFail
                                                               : auth::LoginOutcome::Failed;
        v.account = res.account;
      }
      return app->handle(r, &v);
    }
    return app->handle(r);
  }

  // Logs in through the form; returns the session cookie value ("" on failure).
  std::string login(const std::string& user, const std::string& pw) {
    auto r = req("POST", "/login", "login=" + percent_encode(user) + "&password=" + percent_encode(pw));
    for (auto& h : r.headers) {
      if (h.name == "set-cookie" && h.value.starts_with("tern_session=")) {
        return h.value.substr(13, h.value.find(';') - 13);
      }
    }
    return {};
  }

  std::string csrf(const std::string& cookie, const std::string& page = "/domains") {
    auto r = req("GET", page, {}, cookie);
    std::smatch m;
    static const std::regex re("name=\"_csrf\" value=\"([0-9a-f]+)\"");
    if (!std::regex_search(r.body, m, re)) return {};
    return m[1];
  }
};

// The string value of "name" in a flat JSON object (test helper; the tokens are hex).
inline std::string boost_free_json_field(const std::string& body, const std::string& name) {
  auto p = body.find("\"" + name + "\":\"");
  if (p == std::string::npos) return {};
  p += name.size() + 4;
  return body.substr(p, body.find('"', p) - p);
}

}  // namespace tern::web::test
