// tern-web: the DNS page (plan + live states + DKIM keys), forwarding of a user's own
// address, /metrics agreeing with the dashboard, and the queue's "retry now" (which
// must not count an attempt) with its attempt log. Real store, App::handle() directly.
#include <catch2/catch.hpp>

#include <ctime>

#include "tern/checks/dns_plan.hpp"
#include "web_fixture.hpp"

using namespace tern;
using namespace tern::web;
using tern::web::test::Web;

namespace {

std::string form_with_csrf(const std::string& csrf, const std::string& rest) {
  return "_csrf=" + csrf + (rest.empty() ? "" : "&" + rest);
}

bool has(const std::string& body, const std::string& needle) { return body.find(needle) != std::string::npos; }

// The value of one Prometheus sample line "name{labels} value".
double sample(const std::string& body, const std::string& series) {
  auto p = body.find("\n" + series + " ");
  if (p == std::string::npos) return -1;
  return std::stod(body.substr(p + series.size() + 2));
}

}  // namespace

TEST_CASE("web: retry now makes a queue entry due without counting an attempt; the attempt log shows each try",
          "[web][app][queue]") {
  Web w;
  store::DeliveryRequest r;
  r.body = "Subject: x\r\n\r\nbody\r\n";
  store::OutboundEntry o;
  o.sender = "alice@example.test";
  o.recipient = "far@remote.test";
  o.message_id = "msg-1";
  r.outbound.push_back(o);
  auto ids = w.store->enqueue(r);
  REQUIRE(ids);
  store::QueueId id = ids->at(0);
  // What the queue worker records for a failed try: the entry rescheduled (attempts+1)
  // and a "deferred" event in the same commit.
  std::time_t later = std::time(nullptr) + 3600;
  store::DeliveryEvent ev;
  ev.message_id = "msg-1";
  ev.sender = o.sender;
  ev.recipient = o.recipient;
  ev.action = store::EventAction::deferred;
  ev.detail = "host mx.remote.test[192.0.2.9] tls=none reply=451 4.7.1 greylisted";
  REQUIRE(w.store->update_queue({{id, store::QueueChange::Op::reschedule, later, "451 4.7.1 greylisted", 0}}, {ev}));
  REQUIRE(w.store->get_queue(id)->attempts == 1);

  auto cookie = w.login("root", "rootpassword1");
  auto page = w.req("GET", "/queue", {}, cookie);
  CHECK(page.status == 200);
  CHECK(has(page.body, "1 recorded"));
  CHECK(has(page.body, "greylisted"));
  auto res = w.req("POST", "/queue/" + std::to_string(id) + "/retry", form_with_csrf(w.csrf(cookie, "/queue"), ""), cookie);
  CHECK(res.status == 303);
  auto q = w.store->get_queue(id);
  REQUIRE(q);
  CHECK(q->attempts == 1);                                   // not counted as an attempt
  CHECK(q->last_error == "451 4.7.1 greylisted");            // the worker's error stays
  CHECK(q->next_attempt <= static_cast<store::UnixTime>(std::time(nullptr)));  // due now
  // The API shows the same log.
  auto api = w.req("GET", "/api/queue", {}, cookie);
  CHECK(has(api.body, "\"attempt_log\":[{"));
  CHECK(has(api.body, "\"attempts\":1"));
}

TEST_CASE("web: /metrics counts messages exactly as the dashboard does", "[web][app][metrics]") {
  Web w;
  std::vector<store::DeliveryEvent> evs;
  auto add = [&](store::EventAction a, std::string from, std::string to, std::string detail, std::int64_t ago) {
    store::DeliveryEvent e;
    e.time = w.now - ago;
    e.message_id = "m" + std::to_string(evs.size());
    e.sender = std::move(from);
    e.recipient = std::move(to);
    e.action = a;
    e.detail = std::move(detail);
    evs.push_back(e);
  };
  using A = store::EventAction;
  for (int i = 0; i < 3; ++i) add(A::accepted, "x@remote.test", "alice@example.test", "from 192.0.2.1", 60);
  for (int i = 0; i < 2; ++i) add(A::delivered, "x@remote.test", "alice@example.test", "INBOX", 60);
  add(A::queued, "alice@example.test", "y@remote.test", "relay", 60);
  add(A::rejected, "x@remote.test", "alice@example.test", "spf: 550 5.7.23 SPF fail", 60);
  add(A::rejected, "x@remote.test", "ghost@example.test", "unknown user: 550 5.1.1 no such user", 60);
  add(A::rejected, "x@remote.test", "ghost@example.test", "unknown user: 550 5.1.1 no such user", 3 * 86400);
  add(A::bounced, "alice@example.test", "z@remote.test", "reply=550 no", 60);
  REQUIRE(w.store->add_events(evs));

  auto cookie = w.login("root", "rootpassword1");
  auto m = w.req("GET", "/metrics");
  REQUIRE(m.status == 200);
  auto d = w.req("GET", "/api/domains/example.test", {}, cookie);
  REQUIRE(d.status == 200);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"received\",window=\"24h\"}") == 3);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"delivered\",window=\"24h\"}") == 2);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"sent\",window=\"24h\"}") == 1);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"rejected\",window=\"24h\"}") == 2);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"rejected\",window=\"7d\"}") == 3);
  CHECK(sample(m.body, "tern_mail_messages{kind=\"bounced\",window=\"24h\"}") == 1);
  CHECK(sample(m.body, "tern_mail_rejected_7d{reason=\"unknown user\"}") == 2);
  CHECK(sample(m.body, "tern_mail_rejected_7d{reason=\"spf\"}") == 1);
  // The dashboard's API for the one domain with traffic says the same.
  CHECK(has(d.body, "\"last_24h\":{\"received\":3,\"delivered\":2,\"sent\":1,\"rejected\":2,\"bounced\":1}"));
  CHECK(has(d.body, "\"unknown user\":2"));
  CHECK(sample(m.body, "tern_queue_messages") == 0);
}

TEST_CASE("web: a mailbox user forwards their own address, keeping a copy or not", "[web][app][forwarding]") {
  Web w;
  auto alice = w.login("alice@example.test", "alicepassword1");
  REQUIRE(!alice.empty());
  std::string csrf = w.csrf(alice, "/me");
  REQUIRE(!csrf.empty());
  auto me = w.req("GET", "/me", {}, alice);
  CHECK(has(me.body, "id=\"fwd_targets\""));
  CHECK(has(me.body, "id=\"keep_copy\" name=\"keep_copy\" value=\"on\" checked"));  // ticked by default

  auto r = w.req("POST", "/me/forwarding", form_with_csrf(csrf, "fwd_targets=bob%40other.test%2C+far%40remote.test&keep_copy=on"), alice);
  CHECK(r.status == 303);
  auto f = w.store->get_forwarding("alice@example.test");
  REQUIRE(f);
  REQUIRE(f->has_value());
  CHECK((*f)->targets == std::vector<std::string>{"bob@other.test", "far@remote.test"});
  CHECK((*f)->keep_copy);
  auto res = w.store->resolve("alice@example.test");
  REQUIRE(res);
  CHECK(res->local.size() == 2);
  CHECK(res->remote == std::vector<std::string>{"far@remote.test"});

  // Unticked: no copy kept.
  r = w.req("POST", "/me/forwarding", form_with_csrf(csrf, "fwd_targets=far%40remote.test"), alice);
  CHECK(r.status == 303);
  CHECK(w.store->resolve("alice@example.test")->local.empty());
  me = w.req("GET", "/me", {}, alice);
  CHECK(has(me.body, "on, no copy kept"));
  CHECK(has(me.body, "value=\"far@remote.test\""));

  // Validation next to the field, typed text re-shown escaped.
  r = w.req("POST", "/me/forwarding", form_with_csrf(csrf, "fwd_targets=%3Cscript%3Ex%3D1%3C%2Fscript%3E&keep_copy=on"), alice);
  CHECK(r.status == 422);
  CHECK(has(r.body, "value=\"&lt;script&gt;x=1&lt;/script&gt;\""));
  CHECK(!has(r.body, "<script>x=1"));
  CHECK(has(r.body, "each target must be an address"));
  r = w.req("POST", "/me/forwarding", form_with_csrf(csrf, "fwd_targets=alice%40example.test"), alice);
  CHECK(r.status == 422);
  CHECK(has(r.body, "not this mailbox itself"));
  r = w.req("POST", "/me/forwarding", form_with_csrf(csrf, "fwd_targets=nobody%40example.test"), alice);
  CHECK(r.status == 422);
  CHECK(has(r.body, "neither a mailbox nor a forwarder"));
  CHECK(w.store->get_forwarding("alice@example.test").value()->targets == std::vector<std::string>{"far@remote.test"});
  // Without the CSRF token: refused.
  CHECK(w.req("POST", "/me/forwarding", "fwd_targets=x%40remote.test", alice).status == 403);

  // Others: bob may not touch alice's (a mailbox user's forms act on their own mailbox
  // whatever the URL; the API refuses); the domain admin of example.test may, not bob's.
  auto bob = w.login("bob@other.test", "bobpassword12");
  std::string bobc = w.csrf(bob, "/me");
  r = w.req("POST", "/mailboxes/alice%40example.test/forwarding", form_with_csrf(bobc, "fwd_targets=x%40remote.test"), bob);
  CHECK(w.store->get_forwarding("alice@example.test").value()->targets == std::vector<std::string>{"far@remote.test"});
  r = w.req("PUT", "/api/mailboxes/alice%40example.test/forwarding", R"({"targets":["x@remote.test"]})", bob,
            "application/json", {{"x-csrf-token", bobc}});
  CHECK(r.status == 403);
  CHECK(w.store->get_forwarding("alice@example.test").value()->targets == std::vector<std::string>{"far@remote.test"});
  auto ex = w.login("ex", "expassword12");
  std::string exc = w.csrf(ex, "/domains");
  CHECK(w.req("POST", "/mailboxes/bob%40other.test/forwarding", form_with_csrf(exc, "fwd_targets=far%40remote.test"), ex).status == 403);
  CHECK(w.req("POST", "/mailboxes/alice%40example.test/forwarding/off", form_with_csrf(exc, ""), ex).status == 303);
  CHECK(w.store->get_forwarding("alice@example.test")->has_value() == false);

  // The API: PUT with a JSON list, GET shows it, DELETE turns it off.
  std::vector<Header> h{{"x-csrf-token", csrf}};
  r = w.req("PUT", "/api/mailboxes/alice%40example.test/forwarding",
            R"({"targets":["far@remote.test"],"keep_copy":false})", alice, "application/json", h);
  CHECK(r.status == 200);
  r = w.req("GET", "/api/mailboxes/alice%40example.test", {}, alice);
  CHECK(has(r.body, "\"forwarding\":{\"targets\":[\"far@remote.test\"],\"keep_copy\":false}"));
  r = w.req("PUT", "/api/mailboxes/alice%40example.test/forwarding", R"({"targets":"not an address"})", alice,
            "application/json", h);
  CHECK(r.status == 422);
  CHECK(has(r.body, "\"field\":\"targets\""));
  CHECK(w.req("DELETE", "/api/mailboxes/alice%40example.test/forwarding", {}, alice, "application/json", h).status == 204);
}

TEST_CASE("web: DKIM keys are generated, rotated (with a confirmation naming the old selector) and deleted",
          "[web][app][dkim]") {
  Web w;
  auto ex = w.login("ex", "expassword12");
  std::string csrf = w.csrf(ex, "/domains/example.test/dns");
  REQUIRE(!csrf.empty());
  // CSRF and domain fence.
  CHECK(w.req("POST", "/domains/example.test/dkim", "selector=s1&algorithm=ed25519", ex).status == 403);
  CHECK(w.req("POST", "/domains/other.test/dkim", form_with_csrf(csrf, "selector=s1&algorithm=ed25519"), ex).status == 403);
  CHECK(w.req("GET", "/domains/other.test/dns", {}, ex).status == 403);
  CHECK(w.store->get_dkim_keys("other.test")->empty());
  // Validation next to the field, typed text re-shown escaped.
  auto r = w.req("POST", "/domains/example.test/dkim", form_with_csrf(csrf, "selector=%3Cscript%3Ex%3C%2Fscript%3E&algorithm=rsa"), ex);
  CHECK(r.status == 422);
  CHECK(has(r.body, "value=\"&lt;script&gt;x&lt;/script&gt;\""));
  CHECK(has(r.body, "lower-case letters, digits"));
  r = w.req("POST", "/domains/example.test/dkim", form_with_csrf(csrf, "selector=s1&algorithm=dsa"), ex);
  CHECK(r.status == 422);
  CHECK(has(r.body, "rsa or ed25519"));
  // Rotation needs a key first.
  r = w.req("POST", "/domains/example.test/dkim/rotate", form_with_csrf(csrf, "confirm=yes"), ex);
  CHECK(r.status == 422);
  CHECK(has(r.body, "generate one first"));

  r = w.req("POST", "/domains/example.test/dkim", form_with_csrf(csrf, "selector=s1&algorithm=ed25519"), ex);
  CHECK(r.status == 303);
  auto keys = w.store->get_dkim_keys("example.test");
  REQUIRE(keys->size() == 1);
  CHECK(keys->at(0).selector == "s1");
  CHECK(keys->at(0).algorithm == "ed25519");
  r = w.req("POST", "/domains/example.test/dkim", form_with_csrf(csrf, "selector=s1&algorithm=ed25519"), ex);
  CHECK(r.status == 422);  // taken
  CHECK(has(r.body, "this selector exists"));

  // The page: the DKIM record is in the plan, the rotation warning names s1.
  auto page = w.req("GET", "/domains/example.test/dns", {}, ex);
  CHECK(page.status == 200);
  CHECK(has(page.body, "s1._domainkey.example.test"));
  CHECK(has(page.body, "The old selector s1 is NOT deleted"));
  CHECK(has(page.body, "data-copy=\"s1._domainkey.example.test. IN TXT"));
  // Without the box ticked: refused with the explanation next to it.
  r = w.req("POST", "/domains/example.test/dkim/rotate", form_with_csrf(csrf, ""), ex);
  CHECK(r.status == 422);
  CHECK(has(r.body, "tick the box to confirm"));
  CHECK(w.store->get_dkim_keys("example.test")->size() == 1);
  r = w.req("POST", "/domains/example.test/dkim/rotate", form_with_csrf(csrf, "confirm=yes"), ex);
  CHECK(r.status == 303);
  keys = w.store->get_dkim_keys("example.test");
  REQUIRE(keys->size() == 2);  // the old one stays
  bool old_kept = false, fresh = false;
  for (auto& k : *keys) {
    if (k.selector == "s1") old_kept = true;
    if (k.selector != "s1" && k.algorithm == "ed25519" && k.selector.starts_with("t")) fresh = true;
  }
  CHECK(old_kept);
  CHECK(fresh);

  // Delete needs the selector typed.
  r = w.req("POST", "/domains/example.test/dkim/s1/delete", form_with_csrf(csrf, "confirm=s2"), ex);
  CHECK(r.status == 422);
  CHECK(has(r.body, "type the selector to confirm"));
  r = w.req("POST", "/domains/example.test/dkim/s1/delete", form_with_csrf(csrf, "confirm=s1"), ex);
  CHECK(r.status == 303);
  CHECK(w.store->get_dkim_keys("example.test")->size() == 1);

  // The API: generate and rotate (confirm required), scoped the same way.
  std::vector<Header> h{{"x-csrf-token", csrf}};
  r = w.req("POST", "/api/domains/other.test/dkim", R"({"algorithm":"ed25519"})", ex, "application/json", h);
  CHECK(r.status == 403);
  r = w.req("POST", "/api/domains/example.test/dkim/rotate", R"({})", ex, "application/json", h);
  CHECK(r.status == 422);
  r = w.req("POST", "/api/domains/example.test/dkim/rotate", R"({"confirm":true})", ex, "application/json", h);
  CHECK(r.status == 201);
  CHECK(has(r.body, "\"old_selectors_kept\":["));
}

TEST_CASE("web: the DNS page shows ternctl dns's plan with each record's live state", "[web][app][dns]") {
  Web w;
  auto root = w.login("root", "rootpassword1");
  Request q;
  q.method = "GET";
  q.target = "/domains/example.test/dns";
  q.path = q.target;
  q.headers.push_back({"host", "mx.example.test"});
  q.headers.push_back({"cookie", "tern_session=" + root});
  auto job = w.app->dns_job(q);
  REQUIRE(job);
  CHECK(job->domain == "example.test");
  CHECK(job->host == "mx.example.test");
  // The very plan `ternctl dns` prints.
  auto plan = checks::plan_dns_records(checks::plan_input(w.cfg, "example.test", {}));
  REQUIRE(job->records.size() == plan.records.size());
  for (std::size_t i = 0; i < plan.records.size(); ++i) CHECK(job->records[i].zone_line() == plan.records[i].zone_line());

  // No job for others: not logged in, another domain's admin, a missing domain, a POST.
  Request anon = q;
  anon.headers.pop_back();
  CHECK(!w.app->dns_job(anon));
  auto ex = w.login("ex", "expassword12");
  Request other = q;
  other.target = other.path = "/domains/other.test/dns";
  other.headers.back() = {"cookie", "tern_session=" + ex};
  CHECK(!w.app->dns_job(other));
  Request none = q;
  none.target = none.path = "/domains/none.test/dns";
  CHECK(!w.app->dns_job(none));
  Request post = q;
  post.method = "POST";
  CHECK(!w.app->dns_job(post));

  // Rendered with live answers: MX present, SPF different, DMARC missing, the rest
  // could not be checked.
  DnsLive live;
  live.records.resize(job->records.size());
  for (std::size_t i = 0; i < job->records.size(); ++i) {
    auto& rec = job->records[i];
    auto& ck = live.records[i];
    if (rec.purpose == "MX") ck.status = checks::RecordStatus::present;
    else if (rec.purpose == "SPF") {
      ck.status = checks::RecordStatus::different;
      ck.published = {"v=spf1 ip4:198.51.100.1 <script>-all"};
    } else if (rec.purpose == "DMARC") ck.status = checks::RecordStatus::missing;
    else {
      ck.status = checks::RecordStatus::unknown;
      ck.error = "timeout";
    }
  }
  live.nameservers = {"ns1.provider.test"};
  live.nameservers_known = true;
  auto r = w.app->handle(q, nullptr, &live);
  CHECK(r.status == 200);
  CHECK(has(r.body, "data-status=\"present\" data-name=\"example.test\" data-type=\"MX\""));
  CHECK(has(r.body, "data-status=\"different\" data-name=\"example.test\" data-type=\"TXT\""));
  CHECK(has(r.body, "v=spf1 ip4:198.51.100.1 &lt;script&gt;-all"));
  CHECK(has(r.body, "data-status=\"missing\" data-name=\"_dmarc.example.test\""));
  CHECK(has(r.body, "could not check"));
  CHECK(has(r.body, "hosted elsewhere (ns1.provider.test)"));
  CHECK(has(r.body, "<span class=\"n\" id=\"n-present\">1</span>"));
  // Without lookups the page says so.
  r = w.app->handle(q);
  CHECK(has(r.body, "Live DNS was not checked"));
  // The API: the same records with their states.
  Request api = q;
  api.target = api.path = "/api/domains/example.test/dns";
  r = w.app->handle(api, nullptr, &live);
  CHECK(r.status == 200);
  CHECK(has(r.body, "\"status\":\"different\",\"published\":[\"v=spf1 ip4:198.51.100.1 <script>-all\"]"));
  CHECK(has(r.body, "\"error\":\"timeout\""));
}

TEST_CASE("web: /metrics counts every daemon's failed logins per service", "[web][app][metrics]") {
  Web w;
  CHECK(w.login("root", "not the password").empty());
  CHECK(w.login("alice@example.test", "nor this").empty());
  // Another daemon counting in the same table (tern shares one between them all).
  w.auth->throttle().table().count_failure(auth::AuthService::Imap);
  auto m = w.req("GET", "/metrics");
  REQUIRE(m.status == 200);
  CHECK(sample(m.body, "tern_auth_failures_total{service=\"web\"}") == 2);
  CHECK(sample(m.body, "tern_auth_failures_total{service=\"imap\"}") == 1);
  CHECK(sample(m.body, "tern_auth_failures_total{service=\"smtp\"}") == 0);
  CHECK(sample(m.body, "tern_auth_failures_total{service=\"pop3\"}") == 0);
  CHECK(sample(m.body, "tern_auth_refused_total{service=\"web\"}") == 0);
  CHECK(sample(m.body, "tern_auth_throttle_shared") == 0);  // a tern-web started alone
}
