// tern-web App (pages, API, sessions, CSRF, permissions, autoconfig) over a real store
// in a temp dir; requests go straight to App::handle(), no sockets.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>

#include "web_fixture.hpp"

using namespace tern;
using namespace tern::web;
using tern::web::test::Web;
using tern::web::test::boost_free_json_field;


TEST_CASE("web: login sets a strict session cookie; wrong passwords are not echoed", "[web][app]") {
  Web w;
  auto r = w.req("POST", "/login", "login=root&password=rootpassword1");
  CHECK(r.status == 303);
  std::string sc;
  for (auto& h : r.headers)
    if (h.name == "set-cookie") sc = h.value;
  CHECK(sc.find("HttpOnly") != std::string::npos);
  CHECK(sc.find("SameSite=Strict") != std::string::npos);
  CHECK(sc.find("Secure") == std::string::npos);  // plain HTTP on loopback
  r = w.req("POST", "/login", "login=root&password=Secret%3Cscript%3Ewrong");
  CHECK(r.status == 200);
  CHECK(r.body.find("Wrong login or password") != std::string::npos);
  CHECK(r.body.find("Secret") == std::string::npos);
  CHECK(r.header("content-security-policy").find("script-src 'self'") != std::string::npos);
  CHECK(r.header("x-frame-options") == "DENY");
}

TEST_CASE("web: every page needs a login; the API answers 401 in JSON", "[web][app]") {
  Web w;
  CHECK(w.req("GET", "/domains").status == 303);
  auto r = w.req("GET", "/api/domains");
  CHECK(r.status == 401);
  CHECK(r.body.find("\"error\"") != std::string::npos);
  CHECK(w.req("POST", "/api/domains", "{\"domain\":\"x.test\"}", {}, "application/json").status == 401);
  CHECK(w.req("GET", "/healthz").status == 200);
  CHECK(w.req("GET", "/assets/style.css").status == 200);
  CHECK(w.req("GET", "/nope").status == 404);
}

TEST_CASE("web: state changes need the CSRF token", "[web][app]") {
  Web w;
  std::string s = w.login("root", "rootpassword1");
  REQUIRE(!s.empty());
  CHECK(w.req("POST", "/domains", "domain=new.test", s).status == 403);
  CHECK(!w.store->domain_exists("new.test"));
  CHECK(w.req("POST", "/domains", "domain=new.test&_csrf=0000", s).status == 403);
  std::string t = w.csrf(s);
  REQUIRE(!t.empty());
  auto r = w.req("POST", "/domains", "domain=new.test&_csrf=" + t, s);
  CHECK(r.status == 303);
  CHECK(w.store->domain_exists("new.test"));
  // API with the cookie: X-CSRF-Token required.
  CHECK(w.req("POST", "/api/domains", "{\"domain\":\"api.test\"}", s, "application/json").status == 403);
  r = w.req("POST", "/api/domains", "{\"domain\":\"api.test\"}", s, "application/json", {{"x-csrf-token", t}});
  CHECK(r.status == 201);
  // A foreign Origin is refused even with the token.
  r = w.req("POST", "/api/domains", "{\"domain\":\"evil.test\"}", s, "application/json",
            {{"x-csrf-token", t}, {"origin", "https://evil.example"}});
  CHECK(r.status == 403);
}

TEST_CASE("web: a domain admin sees and changes only their domains", "[web][app]") {
  Web w;
  std::string s = w.login("ex", "expassword12");
  REQUIRE(!s.empty());
  std::string t = w.csrf(s);
  auto r = w.req("GET", "/domains", {}, s);
  CHECK(r.body.find("example.test") != std::string::npos);
  CHECK(r.body.find("other.test") == std::string::npos);
  CHECK(w.req("GET", "/domains/other.test", {}, s).status == 403);
  CHECK(w.req("GET", "/mailboxes/bob%40other.test", {}, s).status == 403);
  CHECK(w.req("POST", "/domains/other.test/mailboxes", "local=x&password=xxxxxxxxxxxx&_csrf=" + t, s).status == 403);
  CHECK(w.req("POST", "/mailboxes/bob%40other.test/disable", "_csrf=" + t, s).status == 403);
  CHECK(w.store->get_account("bob@other.test")->enabled);
  CHECK(w.req("GET", "/api/domains/other.test/mailboxes", {}, s).status == 403);
  CHECK(w.req("DELETE", "/api/mailboxes/bob%40other.test?confirm=bob%40other.test", {}, s, "", {{"x-csrf-token", t}}).status == 403);
  CHECK(w.req("GET", "/?domain=other.test", {}, s).status == 403);
  r = w.req("GET", "/api/domains", {}, s);
  CHECK(r.body.find("other.test") == std::string::npos);
  // Their own domain works.
  CHECK(w.req("POST", "/domains/example.test/mailboxes", "local=carol&password=carolpassword1&_csrf=" + t, s).status == 303);
  CHECK(w.store->get_account("carol@example.test"));
  // Only global admins add domains.
  CHECK(w.req("POST", "/domains", "domain=mine.test&_csrf=" + t, s).status == 403);
}

TEST_CASE("web: forms validate and show the message next to the field", "[web][app]") {
  Web w;
  std::string s = w.login("root", "rootpassword1");
  std::string t = w.csrf(s);
  auto r = w.req("POST", "/domains", "domain=not+a+domain&_csrf=" + t, s);
  CHECK(r.status == 422);
  CHECK(r.body.find("not a valid domain name") != std::string::npos);
  r = w.req("POST", "/domains/example.test/mailboxes", "local=dave&password=short&_csrf=" + t, s);
  CHECK(r.status == 422);
  CHECK(r.body.find("at least 10 characters") != std::string::npos);
  CHECK(r.body.find("value=\"dave\"") != std::string::npos);
  CHECK(!w.store->get_account("dave@example.test"));
  r = w.req("POST", "/domains/example.test/mailboxes", "local=alice&password=alicepassword1&_csrf=" + t, s);
  CHECK(r.status == 422);
  CHECK(r.body.find("exists") != std::string::npos);
  r = w.req("POST", "/domains/example.test/forwarders", "local=sales&targets=not-an-address&_csrf=" + t, s);
  CHECK(r.status == 422);
  r = w.req("POST", "/domains/example.test/forwarders", "local=sales&targets=alice%40example.test%2C+x%40remote.test&_csrf=" + t, s);
  CHECK(r.status == 303);
  auto al = w.store->list_aliases("example.test");
  REQUIRE(al->size() == 1);
  CHECK(al->at(0).targets == std::vector<std::string>{"alice@example.test", "x@remote.test"});
  r = w.req("POST", "/domains/example.test/forwarders", "local=*&targets=alice%40example.test&_csrf=" + t, s);
  CHECK(r.status == 303);
  CHECK(w.store->list_aliases("example.test")->size() == 2);
  // API errors carry the field.
  r = w.req("POST", "/api/domains/example.test/mailboxes", "{\"local\":\"eve\",\"password\":\"x\"}", s,
            "application/json", {{"x-csrf-token", t}});
  CHECK(r.status == 422);
  CHECK(r.body.find("\"field\":\"password\"") != std::string::npos);
  r = w.req("POST", "/api/domains", "{\"domain\":\"example.test\"}", s, "application/json", {{"x-csrf-token", t}});
  CHECK(r.status == 409);
  CHECK(w.req("GET", "/api/mailboxes/nobody%40example.test", {}, s).status == 404);
}

TEST_CASE("web: script typed into text fields comes back escaped", "[web][app]") {
  Web w;
  std::string s = w.login("root", "rootpassword1");
  std::string t = w.csrf(s);
  const std::string evil = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
  auto r = w.req("POST", "/domains", "domain=" + evil + "&_csrf=" + t, s);
  CHECK(r.body.find("<script>alert") == std::string::npos);
  CHECK(r.body.find("&lt;script&gt;alert(1)") != std::string::npos);
  r = w.req("POST", "/mailboxes/alice%40example.test/autoreply",
            "subject=" + evil + "&body=" + evil + "&days=3&_csrf=" + t, s);
  CHECK(r.status == 303);
  r = w.req("GET", "/mailboxes/alice%40example.test", {}, s);
  CHECK(r.body.find("<script>alert") == std::string::npos);
  CHECK(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  r = w.req("GET", "/tracking?sender=" + evil, {}, s);
  CHECK(r.body.find("<script>alert") == std::string::npos);
  r = w.req("GET", "/login?x=" + evil);
  CHECK(r.body.find("<script>alert") == std::string::npos);
}

TEST_CASE("web: auto-responder with dates through the page", "[web][app]") {
  Web w;
  std::string s = w.login("root", "rootpassword1");
  std::string t = w.csrf(s);
  auto r = w.req("POST", "/mailboxes/alice%40example.test/autoreply",
                 "subject=Away&body=Back+soon&start=2027-01-10&end=2027-01-05&days=2&_csrf=" + t, s);
  CHECK(r.status == 422);
  CHECK(r.body.find("must not be before the start date") != std::string::npos);
  r = w.req("POST", "/mailboxes/alice%40example.test/autoreply",
            "subject=Away&body=Back+soon&start=2027-01-01&end=2027-01-05&days=2&_csrf=" + t, s);
  CHECK(r.status == 303);
  auto ar = w.store->get_autoreply("alice@example.test");
  REQUIRE(ar->has_value());
  CHECK((*ar)->days == 2);
}

TEST_CASE("web: auto-responder dates are stored as the day range", "[web][app]") {
  Web w;
  std::string s = w.login("root", "rootpassword1");
  std::string t = w.csrf(s);
  auto r = w.req("POST", "/mailboxes/alice%40example.test/autoreply",
                 "subject=Away&body=Back&start=2027-01-01&end=2027-01-05&days=2&_csrf=" + t, s);
  REQUIRE(r.status == 303);
  auto ar = w.store->get_autoreply("alice@example.test");
  REQUIRE(ar->has_value());
  CHECK((*ar)->start == 1798761600);            // 2027-01-01 00:00 UTC
  CHECK((*ar)->end == 1798761600 + 5 * 86400);  // through 2027-01-05
  r = w.req("GET", "/mailboxes/alice%40example.test", {}, s);
  CHECK(r.body.find("value=\"2027-01-05\"") != std::string::npos);
}

TEST_CASE("web: sessions expire when idle, at the absolute limit, and on password change", "[web][app]") {
  Web w;
  std::string s = w.login("alice@example.test", "alicepassword1");
  REQUIRE(!s.empty());
  CHECK(w.req("GET", "/me", {}, s).status == 200);
  w.now += 29 * 60;
  CHECK(w.req("GET", "/me", {}, s).status == 200);  // moves the idle expiry on
  w.now += 29 * 60;
  CHECK(w.req("GET", "/me", {}, s).status == 200);
  w.now += 31 * 60;
  CHECK(w.req("GET", "/me", {}, s).status == 303);  // idle too long

  s = w.login("alice@example.test", "alicepassword1");
  for (int i = 0; i < 4; ++i) {
    w.now += 25 * 60;
    CHECK(w.req("GET", "/me", {}, s).status == 200);
  }
  w.now += 25 * 60;  // 2h05 after login, active all along: past session_lifetime = 2h
  CHECK(w.req("GET", "/me", {}, s).status == 303);

  // Two sessions of alice; she changes her password in one: the other is logged out,
  // hers goes on with a new cookie.
  std::string a = w.login("alice@example.test", "alicepassword1");
  std::string b = w.login("alice@example.test", "alicepassword1");
  std::string t = w.csrf(a, "/me");
  auto r = w.req("POST", "/me/password", "password=newpassword123&confirm=newpassword123&_csrf=" + t, a);
  CHECK(r.status == 303);
  std::string fresh;
  for (auto& h : r.headers)
    if (h.name == "set-cookie") fresh = h.value.substr(13, h.value.find(';') - 13);
  CHECK(!fresh.empty());
  CHECK(w.req("GET", "/me", {}, b).status == 303);
  CHECK(w.req("GET", "/me", {}, a).status == 303);
  CHECK(w.req("GET", "/me", {}, fresh).status == 200);
  CHECK(w.login("alice@example.test", "alicepassword1").empty());
  CHECK(!w.login("alice@example.test", "newpassword123").empty());
  // An admin's change (or ternctl's) logs the user out too.
  std::string u = w.login("alice@example.test", "newpassword123");
  REQUIRE(w.store->set_password("alice@example.test", auth::hash_password("third-password1"), std::nullopt));
  CHECK(w.req("GET", "/me", {}, u).status == 303);
}

TEST_CASE("web: mailbox users get self-service only", "[web][app]") {
  Web w;
  std::string s = w.login("alice@example.test", "alicepassword1");
  std::string t = w.csrf(s, "/me");
  CHECK(w.req("GET", "/", {}, s).status == 303);
  CHECK(w.req("GET", "/domains/example.test", {}, s).status == 403);
  CHECK(w.req("GET", "/mailboxes/bob%40other.test/apple.mobileconfig", {}, s).status == 403);
  CHECK(w.req("POST", "/mailboxes/alice%40example.test/quota", "quota=10G&_csrf=" + t, s).status == 403);
  CHECK(w.req("GET", "/api/mailboxes/bob%40other.test", {}, s).status == 403);
  CHECK(w.req("GET", "/api/mailboxes/alice%40example.test", {}, s).status == 200);
  CHECK(w.req("GET", "/queue", {}, s).status == 403);
  CHECK(w.req("POST", "/me/autoreply", "subject=Away&body=Gone&_csrf=" + t, s).status == 303);
  CHECK(w.store->get_autoreply("alice@example.test")->has_value());
}

TEST_CASE("web: wrong passwords are throttled like the mail daemons", "[web][app]") {
  Web w;
  Response r;
  for (int i = 0; i < 5; ++i) {
    r = w.req("POST", "/login", "login=root&password=wrong" + std::to_string(i));
    CHECK(r.status == 200);
    if (i < 4) CHECK(w.auth->check_allowed("192.0.2.1", "root").delay.count() > 0);
  }
  r = w.req("POST", "/login", "login=root&password=rootpassword1");
  CHECK(r.status == 429);
  CHECK(r.body.find("Too many failed logins") != std::string::npos);
  r = w.req("POST", "/api/tokens", "{\"login\":\"root\",\"password\":\"rootpassword1\"}", {}, "application/json");
  CHECK(r.status == 429);
}

TEST_CASE("web: API tokens for scripts", "[web][app]") {
  Web w;
  auto r = w.req("POST", "/api/tokens", "{\"login\":\"ex\",\"password\":\"expassword12\",\"name\":\"ci\"}", {}, "application/json");
  REQUIRE(r.status == 201);
  auto tok = boost_free_json_field(r.body, "token");
  REQUIRE(tok.starts_with("tern_"));
  Header bearer{"authorization", "Bearer " + tok};
  r = w.req("GET", "/api/domains", {}, {}, "", {bearer});
  CHECK(r.status == 200);
  CHECK(r.body.find("example.test") != std::string::npos);
  r = w.req("POST", "/api/domains/example.test/mailboxes", "{\"local\":\"ci\",\"password\":\"cipassword123\",\"quota\":\"1G\"}", {},
            "application/json", {bearer});
  CHECK(r.status == 201);
  CHECK(w.store->get_account("ci@example.test")->quota.bytes == (1ull << 30));
  CHECK(w.req("GET", "/api/domains/other.test", {}, {}, "", {bearer}).status == 403);
  CHECK(w.req("GET", "/api/domains", {}, {}, "", {{"authorization", "Bearer tern_nope"}}).status == 401);
  r = w.req("PATCH", "/api/mailboxes/ci%40example.test", "{\"enabled\":false}", {}, "application/json", {bearer});
  CHECK(r.status == 200);
  CHECK(!w.store->get_account("ci@example.test")->enabled);
  r = w.req("DELETE", "/api/mailboxes/ci%40example.test", "{\"confirm\":\"wrong\"}", {}, "application/json", {bearer});
  CHECK(r.status == 422);
  r = w.req("DELETE", "/api/mailboxes/ci%40example.test", "{\"confirm\":\"ci@example.test\"}", {}, "application/json", {bearer});
  CHECK(r.status == 204);
  CHECK(!w.store->get_account("ci@example.test"));
  // The token dies with a password change.
  REQUIRE(w.store->set_admin_password("ex", auth::hash_password("another-pass1")));
  CHECK(w.req("GET", "/api/domains", {}, {}, "", {bearer}).status == 401);
}

TEST_CASE("web: autoconfig from one generator", "[web][autoconfig]") {
  Web w;
  auto r = w.req("GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<hostname>mx.example.test</hostname>") != std::string::npos);
  CHECK(r.body.find("<port>993</port>") != std::string::npos);
  CHECK(r.body.find("<socketType>SSL</socketType>") != std::string::npos);
  CHECK(r.body.find("<port>587</port>") != std::string::npos);
  CHECK(r.body.find("<socketType>STARTTLS</socketType>") != std::string::npos);
  CHECK(w.req("GET", "/mail/config-v1.1.xml?emailaddress=x%40unknown.test").status == 404);
  r = w.req("POST", "/autodiscover/autodiscover.xml",
            "<?xml version=\"1.0\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>",
            {}, "text/xml");
  REQUIRE(r.status == 200);
  CHECK(r.body.find("<LoginName>alice@example.test</LoginName>") != std::string::npos);
  CHECK(r.body.find("<Type>IMAP</Type>") != std::string::npos);
  r = w.req("GET", "/.well-known/user-agent-configuration.json");
  CHECK(r.body.find("imaps://mx.example.test:993") != std::string::npos);
  std::string s = w.login("alice@example.test", "alicepassword1");
  r = w.req("GET", "/me/apple.mobileconfig", {}, s);
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "application/x-apple-aspen-config");
  CHECK(r.body.find("<string>com.apple.mail.managed</string>") != std::string::npos);
}

TEST_CASE("web: dashboard and lists under 100 ms with 1,000 domains and 10,000 mailboxes", "[web][app][scale]") {
  Web w;
  for (int d = 0; d < 1000; ++d) REQUIRE(w.store->add_domain("d" + std::to_string(d) + ".test"));
  store::NewAccount a;
  a.password_hash = "$y$j9T$fake$fake";  // no hashing: this measures the pages, not yescrypt
  for (int i = 0; i < 10000; ++i) {
    a.address = "u" + std::to_string(i) + "@d" + std::to_string(i % 1000) + ".test";
    a.quota.bytes = 1ull << 30;
    REQUIRE(w.store->add_account(a));
  }
  std::vector<store::DeliveryEvent> ev;
  for (int i = 0; i < 20000; ++i)
    ev.push_back(store::DeliveryEvent{w.now - (i % (7 * 86400)), "m" + std::to_string(i), "s@remote.example",
                                      "u" + std::to_string(i % 10000) + "@d" + std::to_string(i % 1000) + ".test",
                                      i % 10 == 0 ? store::EventAction::rejected : store::EventAction::delivered,
                                      "550 5.7.1 spam: score"});
  REQUIRE(w.store->add_events(ev));
  std::string s = w.login("root", "rootpassword1");
  auto best = [&](const std::string& target) {
    double ms = 1e9;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = w.req("GET", target, {}, s);
      auto t1 = std::chrono::steady_clock::now();
      REQUIRE(r.status == 200);
      ms = std::min(ms, std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    return ms;
  };
  double dash = best("/"), domains = best("/domains"), one = best("/domains/d7.test"), dom_dash = best("/?domain=d7.test");
  INFO("dashboard " << dash << " ms, domains " << domains << " ms, one domain " << one << " ms, domain dashboard "
                    << dom_dash << " ms");
  CHECK(dash < 100);
  CHECK(domains < 100);
  CHECK(one < 100);
  CHECK(dom_dash < 100);
  auto r = w.req("GET", "/", {}, s);
  CHECK(r.body.find("d999.test") != std::string::npos);
  CHECK(r.body.find("550 5.7.1 spam") != std::string::npos);  // rejected by reason
}
