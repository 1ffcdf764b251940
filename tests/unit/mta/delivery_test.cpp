// Envelope checks, delivery (trace headers, archive copies, events) and auto-replies
// against the real LMDB store in a temp dir; Spool; trusted-network matching.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "autoreply.hpp"
#include "checks.hpp"
#include "connection.hpp"
#include "data_sink.hpp"
#include "delivery.hpp"

using namespace tern::mta;
using tern::smtp::Path;
namespace fs = std::filesystem;

namespace {

struct TempStore {
  fs::path dir;
  tern::store::StorePtr store;
  TempStore() {
    char tmpl[] = "/tmp/tern-mta-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto s = tern::store::Store::open(dir);
    REQUIRE(s);
    store = std::move(*s);
    REQUIRE(store->add_domain("example.test"));
    REQUIRE(store->add_domain("arch.test"));
    for (const char* a : {"alice@example.test", "bob@example.test", "archive@arch.test", "tiny@example.test"}) {
      tern::store::NewAccount n;
      n.address = a;
      REQUIRE(store->add_account(n));
    }
    REQUIRE(store->set_quota("tiny@example.test", tern::store::Quota{100, 0}));
    REQUIRE(store->add_alias("team@example.test", {"alice@example.test", "bob@example.test"}));
    REQUIRE(store->add_alias("out@example.test", {"x@remote.test"}));
  }
  ~TempStore() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Path path(std::string local, std::string domain) {
  Path p;
  p.local = std::move(local);
  p.domain = std::move(domain);
  return p;
}

std::vector<std::string> inbox(tern::store::Store& s, const std::string& addr) {
  auto acc = s.get_account(addr);
  REQUIRE(acc);
  auto mb = s.get_mailbox(acc->id, "INBOX");
  REQUIRE(mb);
  std::vector<std::string> out;
  std::vector<tern::store::Uid> uids;
  REQUIRE(s.for_each_message(mb->id, {}, [&](const tern::store::MessageMeta& m) {
    uids.push_back(m.uid);
    return true;
  }));
  for (auto u : uids) out.push_back(*s.read_message_string(mb->id, u));
  return out;
}

}  // namespace

TEST_CASE("recipient checks: local, alias, unknown, relay, quota", "[mta][checks]") {
  TempStore t;
  auto& s = *t.store;
  RcptContext mx{false, "mx.example.test", std::nullopt};
  auto ok = check_recipient(s, mx, path("alice", "Example.TEST"));
  CHECK(ok.rejection.empty());
  REQUIRE(ok.route.local.size() == 1);
  CHECK(ok.route.local[0].address == "alice@example.test");
  CHECK(check_recipient(s, mx, path("alice+tag", "example.test")).route.local.size() == 1);
  CHECK(check_recipient(s, mx, path("team", "example.test")).route.local.size() == 2);
  auto fwd = check_recipient(s, mx, path("out", "example.test"));
  CHECK(fwd.rejection.empty());
  CHECK(fwd.route.remote == std::vector<std::string>{"x@remote.test"});
  CHECK(check_recipient(s, mx, path("nobody", "example.test")).rejection.summary() == "550 5.1.1 No such user here");
  CHECK(check_recipient(s, mx, path("a", "remote.test")).rejection.summary() == "554 5.7.1 Relay access denied");
  CHECK(check_recipient(s, mx, path("a", "[192.0.2.1]")).rejection.code == 554);
  RcptContext sub{true, "mx.example.test", std::nullopt};
  auto relay = check_recipient(s, sub, path("a", "remote.test"));
  CHECK(relay.rejection.empty());
  CHECK(relay.route.relayed);
  RcptContext big{false, "mx.example.test", 500};
  CHECK(check_recipient(s, big, path("tiny", "example.test")).rejection.summary().rfind("552 5.2.2", 0) == 0);
  REQUIRE(s.set_enabled("bob@example.test", false));
  CHECK(check_recipient(s, mx, path("bob", "example.test")).rejection.summary().rfind("550 5.2.1", 0) == 0);
}

TEST_CASE("sender ownership for authenticated clients", "[mta][checks]") {
  TempStore t;
  auto& s = *t.store;
  auto alice = s.get_account("alice@example.test");
  REQUIRE(alice);
  std::optional<AuthIdentity> id = AuthIdentity{alice->id, "alice@example.test", "PLAIN"};
  CHECK(check_sender(s, id, path("alice", "example.test")).empty());
  CHECK(check_sender(s, id, path("Alice+x", "Example.test")).empty());
  CHECK(check_sender(s, id, path("team", "example.test")).empty());
  CHECK(check_sender(s, id, path("bob", "example.test")).summary().rfind("553 5.7.1", 0) == 0);
  CHECK(check_sender(s, id, path("alice", "remote.test")).code == 553);
  Path null;
  null.null = true;
  // Issue 14: MAIL FROM:<> from an authenticated user is refused.
  CHECK(check_sender(s, id, null).code == 553);
  CHECK(check_sender(s, std::nullopt, null).empty());  // MX: bounces come from <>
  CHECK(check_sender(s, std::nullopt, path("bob", "example.test")).empty());
}

TEST_CASE("header From ownership for authenticated clients", "[mta][checks]") {
  TempStore t;
  auto& s = *t.store;
  auto alice = s.get_account("alice@example.test");
  REQUIRE(alice);
  AuthIdentity id{alice->id, "alice@example.test", "PLAIN"};
  auto check = [&](std::string head, bool complete = true) { return check_header_from(s, id, head, complete); };
  CHECK(check("From: alice@example.test\r\nTo: x@remote.test\r\n\r\nbody\r\n").empty());
  CHECK(check("From: \"Alice A.\" <Alice+news@Example.TEST>\r\n\r\n").empty());
  CHECK(check("from:\r\n\tteam@example.test (the team)\r\n\r\n").empty());  // folded, alias incl. alice
  CHECK(check("Subject: no from\r\n\r\nFrom: bob@example.test\r\n").empty());  // a From in the body is no field
  CHECK(check("\r\nFrom: bob@example.test\r\n").empty());                        // no header at all
  CHECK(check("From: alice@example.test\n\nLF only\n").empty());
  auto r = check("From: Bob <bob@example.test>\r\n\r\n");
  CHECK(r.summary() == "550 5.7.1 From: address <bob@example.test> is not owned by the authenticated user alice@example.test");
  CHECK(check("From: alice@example.test, bob@example.test\r\n\r\n").code == 550);
  CHECK(check("From: alice@remote.test\r\n\r\n").code == 550);
  CHECK(check("From: alice@example.test\r\nFrom: alice@example.test\r\n\r\n").summary() ==
        "550 5.7.1 More than one From: field (RFC 5322 3.6)");
  CHECK(check("From: undisclosed:;\r\n\r\n").summary() == "550 5.7.1 From: field without an address");
  CHECK(check("From: <>\r\n\r\n").code == 550);
  // Control characters in the refused address are not echoed.
  CHECK(check("From: \"x\x01y\"@remote.test\r\n\r\n").summary().find('\x01') == std::string::npos);
  // A header block that does not end within the head of a longer message: refused.
  std::string big = "From: alice@example.test\r\nX-Long: " + std::string(70000, 'a');
  CHECK(check(big, false).summary().rfind("550 5.7.1 Header block too long", 0) == 0);
  CHECK(check("From: alice@example.test\r\nSubject: s", true).empty());  // whole message, no body
}

TEST_CASE("delivery: trace headers, one copy per account, archive, events, queue", "[mta][delivery]") {
  TempStore t;
  auto& s = *t.store;
  REQUIRE(s.set_domain_archive("example.test", "archive@arch.test"));
  MessageContext m;
  m.message_id = "ABC.1";
  m.hostname = "mx.example.test";
  m.helo = "client.example";
  m.peer_ip = "192.0.2.7";
  m.protocol = "ESMTPS";
  m.tls = TlsFacts{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256};
  m.sender = path("s", "remote.example");
  m.now = 1700000000;
  RcptContext mx{false, "mx.example.test", std::nullopt};
  for (const char* r : {"team", "alice", "out"}) {
    Recipient rc;
    rc.path = path(r, "example.test");
    rc.route = check_recipient(s, mx, rc.path).route;
    m.recipients.push_back(rc);
  }
  Spool body(t.dir / "spool", 1 << 20);
  const std::string msg = "Subject: t\r\n\r\nhello\r\n";
  REQUIRE(body.append(msg));
  auto out = deliver_message(s, m, body, {});
  CHECK(out.reply.code == 250);
  CHECK(out.delivered == 3);  // alice once, bob, archive
  CHECK(out.queued == 1);
  auto a = inbox(s, "alice@example.test");
  REQUIRE(a.size() == 1);
  const std::string expect_prefix =
      "Return-Path: <s@remote.example>\r\n"
      "Received: from client.example ([192.0.2.7])\r\n"
      "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256 bits))\r\n"
      "\tby mx.example.test (tern) with ESMTPS id ABC.1; Tue, 14 Nov 2023 22:13:20 +0000\r\n";
  CHECK(a[0] == expect_prefix + msg);
  CHECK(inbox(s, "bob@example.test").size() == 1);
  CHECK(inbox(s, "archive@arch.test").size() == 1);
  auto q = s.list_queue();
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].recipient == "x@remote.test");
  auto ev = s.recent_events(100);
  REQUIRE(ev);
  int accepted = 0, delivered = 0, forwarded = 0;
  for (const auto& e : *ev) {
    accepted += e.action == tern::store::EventAction::accepted;
    delivered += e.action == tern::store::EventAction::delivered;
    forwarded += e.action == tern::store::EventAction::forwarded;
  }
  CHECK(accepted == 3);
  CHECK(delivered == 3);
  CHECK(forwarded == 1);
}

TEST_CASE("a relay-only message is queued without Return-Path", "[mta][delivery]") {
  TempStore t;
  auto& s = *t.store;
  MessageContext m;
  m.message_id = "R.1";
  m.hostname = "mx";
  m.protocol = "ESMTPSA";
  m.sender = path("alice", "example.test");
  m.now = 1700000000;
  Recipient rc;
  rc.path = path("far", "remote.test");
  rc.params.notify = tern::smtp::notify_failure | tern::smtp::notify_delay;
  rc.route = check_recipient(s, RcptContext{true, "mx", std::nullopt}, rc.path).route;
  m.recipients.push_back(rc);
  Spool body(t.dir / "spool", 1 << 20);
  REQUIRE(body.append("Subject: r\r\n\r\nx\r\n"));
  CHECK(deliver_message(s, m, body, {}).reply.code == 250);
  auto q = s.list_queue();
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].dsn.notify == "FAILURE,DELAY");
  std::string stored;
  REQUIRE(s.read_blob((*q)[0].blob, [&](std::string_view c) {
    stored.append(c);
    return true;
  }));
  CHECK(stored.rfind("Received: from unknown ([])\r\n\tby mx (tern) with ESMTPSA id R.1\r\n\tfor <far@remote.test>; ", 0) == 0);
  CHECK(stored.find("Return-Path") == std::string::npos);
}

TEST_CASE("delivery from a spool file, and a full mailbox gives 452", "[mta][delivery]") {
  TempStore t;
  auto& s = *t.store;
  MessageContext m;
  m.message_id = "F.1";
  m.hostname = "mx";
  m.protocol = "ESMTP";
  m.sender = path("s", "remote.example");
  m.now = 1700000000;
  Recipient rc;
  rc.path = path("tiny", "example.test");
  rc.route = check_recipient(s, RcptContext{false, "mx", std::nullopt}, rc.path).route;
  m.recipients.push_back(rc);
  Spool body(t.dir / "spool", 16);  // forces a file
  std::string big(300, 'x');
  REQUIRE(body.append("Subject: big\r\n\r\n"));
  REQUIRE(body.append(big + "\r\n"));
  REQUIRE(body.finish());
  CHECK(body.in_file());
  CHECK(fs::exists(body.path()));
  auto out = deliver_message(s, m, body, {});
  CHECK(out.reply.summary() == "452 4.2.2 Mailbox full, try again later");
  CHECK(inbox(s, "tiny@example.test").empty());
  // The same body to alice is stored byte for byte from the file.
  m.recipients[0].path = path("alice", "example.test");
  m.recipients[0].route = check_recipient(s, RcptContext{false, "mx", std::nullopt}, m.recipients[0].path).route;
  CHECK(deliver_message(s, m, body, {}).reply.code == 250);
  auto a = inbox(s, "alice@example.test");
  REQUIRE(a.size() == 1);
  CHECK(a[0].substr(a[0].find("Subject:")) == "Subject: big\r\n\r\n" + big + "\r\n");
  fs::path p = body.path();
  body.clear();
  CHECK_FALSE(fs::exists(p));
}

TEST_CASE("RFC 3834 suppression rules and the reply message", "[mta][autoreply]") {
  const std::string head = "From: a@b\r\nSubject: hi\r\n folded\r\nMessage-ID: <m1@b>\r\n\r\nbody\r\nList-Id: no\r\n";
  auto f = parse_header_fields(head);
  REQUIRE(f.size() == 3);
  CHECK(f[1].second == "hi folded");
  CHECK(autoreply_suppressed("a@b", head).empty());
  CHECK(autoreply_suppressed("", head) == "null sender");
  CHECK(autoreply_suppressed("MAILER-DAEMON@b", head) == "robot sender");
  CHECK(autoreply_suppressed("owner-list@b", head) == "robot sender");
  CHECK(autoreply_suppressed("list-request@b", head) == "robot sender");
  CHECK(autoreply_suppressed("a@b", "Precedence: Bulk\r\n\r\n") == "Precedence: bulk");
  CHECK(autoreply_suppressed("a@b", "Precedence: first-class\r\n\r\n").empty());
  CHECK(autoreply_suppressed("a@b", "Auto-Submitted: auto-generated\r\n\r\n") == "Auto-Submitted: auto-generated");
  CHECK(autoreply_suppressed("a@b", "Auto-Submitted: no\r\n\r\n").empty());
  CHECK(autoreply_suppressed("a@b", "List-Unsubscribe: <x>\r\n\r\n") == "List-Unsubscribe");
  auto r = build_autoreply("me@example.test", "a@b", "Away", "gone\nback soon", head, "id1@mx", 1700000000);
  CHECK(r.find("Auto-Submitted: auto-replied\r\n") != std::string::npos);
  CHECK(r.find("In-Reply-To: <m1@b>\r\nReferences: <m1@b>\r\n") != std::string::npos);
  CHECK(r.find("\r\n\r\ngone\r\nback soon\r\n") != std::string::npos);
}

TEST_CASE("auto-reply once per sender per N days, queued with a null sender", "[mta][autoreply]") {
  TempStore t;
  auto& s = *t.store;
  REQUIRE(s.set_autoreply("alice@example.test", tern::store::AutoReply{"Away", "I am away", 7}));
  auto alice = s.get_account("alice@example.test");
  MessageContext m;
  m.message_id = "AR.1";
  m.hostname = "mx";
  m.sender = path("fan", "remote.test");
  m.now = 1700000000;
  const std::string head = "Subject: x\r\nMessage-ID: <q@r>\r\n\r\n";
  CHECK(maybe_autoreply(s, m, head, alice->id, "alice@example.test"));
  CHECK_FALSE(maybe_autoreply(s, m, head, alice->id, "alice@example.test"));
  m.sender = path("other", "remote.test");
  CHECK_FALSE(maybe_autoreply(s, m, "Precedence: list\r\n\r\n", alice->id, "alice@example.test"));
  auto q = s.list_queue();
  REQUIRE(q);
  REQUIRE(q->size() == 1);
  CHECK((*q)[0].sender.empty());
  CHECK((*q)[0].recipient == "fan@remote.test");
}

TEST_CASE("trusted networks (CIDR matching)", "[mta][checks]") {
  std::vector<std::string> nets{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "bogus", "1.2.3.4/99"};
  CHECK(ip_in_networks("10.1.2.3", nets));
  CHECK_FALSE(ip_in_networks("11.1.2.3", nets));
  CHECK(ip_in_networks("192.0.2.1", nets));
  CHECK_FALSE(ip_in_networks("192.0.2.2", nets));
  CHECK(ip_in_networks("2001:db8:1::5", nets));
  CHECK_FALSE(ip_in_networks("2001:db9::1", nets));
  CHECK_FALSE(ip_in_networks("1.2.3.4", nets));
  CHECK_FALSE(ip_in_networks("not-an-ip", nets));
  CHECK(ip_in_networks("127.0.0.1", {"0.0.0.0/0"}));
  CHECK(ip_in_networks("10.255.0.1", {"10.254.0.0/15"}));
  CHECK_FALSE(ip_in_networks("10.253.0.1", {"10.254.0.0/15"}));
}

TEST_CASE("HELO names that are neither domain nor address literal are quoted in Received", "[mta][delivery][headers]") {
  CHECK(helo_is_valid("mail.example.com"));
  CHECK(helo_is_valid("[192.0.2.1]"));
  CHECK(helo_is_valid("[IPv6:2001:db8::1]"));
  CHECK_FALSE(helo_is_valid(""));
  CHECK_FALSE(helo_is_valid("evil\t(by forged.example)"));
  CHECK_FALSE(helo_is_valid("a;b"));
  CHECK_FALSE(helo_is_valid("x.example (spoof)"));
  CHECK_FALSE(helo_is_valid("[not an ip"));
  MessageContext m;
  m.message_id = "ID1";
  m.hostname = "mx.example.test";
  m.protocol = "ESMTP";
  m.peer_ip = "192.0.2.7";
  m.now = 1700000000;
  m.helo = "evil\t(by forged.example with ESMTP id X; Tue, 1 Jan 2030)\\";
  CHECK(received_header(m).rfind(
            "Received: from [192.0.2.7] (helo=evil?\\(by?forged.example?with?ESMTP?id?X??Tue,?1?Jan?2030\\)\\\\)\r\n"
            "\tby mx.example.test (tern) with ESMTP id ID1;",
            0) == 0);
  m.peer_ip = "2001:db8::5";
  m.helo = "bad name";
  CHECK(received_header(m).rfind("Received: from [IPv6:2001:db8::5] (helo=bad?name)\r\n", 0) == 0);
  m.helo = "good.example";
  CHECK(received_header(m).rfind("Received: from good.example ([2001:db8::5])\r\n", 0) == 0);
}
