// DSN building (RFC 3464) and SRS (pure parts of the outbound queue).
#include <catch2/catch.hpp>

#include "queue/dsn.hpp"
#include "queue/srs.hpp"

using namespace tern::mta::queue;

TEST_CASE("failure DSN: multipart/report naming recipient and reason", "[queue][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.example.test";
  in.to = "a@example.test";
  in.original = "From: a@example.test\r\nSubject: hello\r\n\r\nbody line\r\n";
  in.now = 1'700'000'000;
  in.arrival = in.now - 60;
  in.message_id = "Q42";
  in.envid = "ENV1";
  in.rcpts.push_back({"x@remote.test", "rfc822;X@remote.test", DsnAction::failed, "5.1.1",
                      "mx.remote.test", "550 5.1.1 <x@remote.test>: Recipient address rejected"});
  std::string m = build_dsn(in);
  CHECK(m.find("To: <a@example.test>\r\n") != std::string::npos);
  CHECK(m.find("From: Mail Delivery System <MAILER-DAEMON@mx.example.test>") != std::string::npos);
  CHECK(m.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos);
  CHECK(m.find("Reporting-MTA: dns; mx.example.test\r\n") != std::string::npos);
  CHECK(m.find("Original-Envelope-Id: ENV1\r\n") != std::string::npos);
  CHECK(m.find("Final-Recipient: rfc822; x@remote.test\r\n") != std::string::npos);
  CHECK(m.find("Original-Recipient: rfc822; X@remote.test\r\n") != std::string::npos);
  CHECK(m.find("Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.test\r\n") != std::string::npos);
  CHECK(m.find("Diagnostic-Code: smtp; 550 5.1.1 <x@remote.test>: Recipient address rejected") != std::string::npos);
  CHECK(m.find("<x@remote.test>: host mx.remote.test said: 550 5.1.1") != std::string::npos);
  CHECK(m.find("Content-Type: message/rfc822\r\n") != std::string::npos);  // no RET: full
  CHECK(m.find("body line") != std::string::npos);
  in.ret = "HDRS";
  m = build_dsn(in);
  CHECK(m.find("Content-Type: text/rfc822-headers\r\n") != std::string::npos);
  CHECK(m.find("Subject: hello") != std::string::npos);
  CHECK(m.find("body line") == std::string::npos);
}

TEST_CASE("DSN fields from client parameters and peer replies stay one line each", "[queue][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.example.test";
  in.to = "a@example.test";
  in.original = "Subject: s\r\n\r\nb\r\n";
  in.now = 1'700'000'000;
  in.message_id = "Q43";
  in.envid = "E 1";
  // ORCPT as received (xtext, here with an encoded CR LF) and a reply with a NUL and a CR.
  in.rcpts.push_back({"x@remote.test", "rfc822;x+2Btag+0D+0AX-Evil:+201@example.test", DsnAction::failed,
                      "5.0.0", "mx.remote.test", std::string("550 no\0such\rX-Evil: 2", 21)});
  std::string m = build_dsn(in);
  CHECK(m.find("Original-Envelope-Id: E 1\r\n") != std::string::npos);
  CHECK(m.find("Original-Recipient: rfc822; x+tag  X-Evil: 1@example.test\r\n") != std::string::npos);
  CHECK(m.find("Diagnostic-Code: smtp; 550 no such X-Evil: 2\r\n") != std::string::npos);
  CHECK(m.find("\nX-Evil") == std::string::npos);
  CHECK(m.find('\0') == std::string::npos);
}

TEST_CASE("RET=FULL returns a message whole only up to kMaxReturnedMessage", "[queue][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.example.test";
  in.to = "a@example.test";
  in.now = 1'700'000'000;
  in.message_id = "Q44";
  in.ret = "FULL";
  in.rcpts.push_back({"x@remote.test", "", DsnAction::failed, "5.3.4", "mx.remote.test", "552 5.3.4 too big"});
  const std::string head = "From: a@example.test\r\nSubject: big\r\n\r\n";
  in.original = head + std::string(2u << 20, 'x') + "\r\n";  // 2 MiB: whole with RET=FULL
  std::string m = build_dsn(in);
  CHECK(m.find("Content-Type: message/rfc822\r\n") != std::string::npos);
  CHECK(m.size() > in.original.size());
  in.original = head + std::string(kMaxReturnedMessage, 'x') + "\r\n";  // over the cap
  m = build_dsn(in);
  CHECK(m.find("Content-Type: text/rfc822-headers\r\n") != std::string::npos);
  CHECK(m.find("Subject: big") != std::string::npos);
  CHECK(m.find("only its headers are returned") != std::string::npos);
  CHECK(m.size() < 10000);
}

TEST_CASE("delay DSN carries Will-Retry-Until and only headers", "[queue][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.example.test";
  in.to = "a@example.test";
  in.original = "Subject: s\r\n\r\nsecret body\r\n";
  in.now = 1'700'000'000;
  in.retry_until = in.now + 86400;
  in.message_id = "Q1";
  in.rcpts.push_back({"x@remote.test", "", DsnAction::delayed, "4.4.1", "", "connect failed"});
  std::string m = build_dsn(in);
  CHECK(m.find("Subject: Delayed Mail") != std::string::npos);
  CHECK(m.find("Action: delayed\r\n") != std::string::npos);
  CHECK(m.find("Will-Retry-Until: ") != std::string::npos);
  CHECK(m.find("secret body") == std::string::npos);
  CHECK(build_dsn(DsnInput{}).empty());
}

TEST_CASE("SRS forward and reverse", "[queue][srs]") {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  std::time_t now = 1'700'000'000;
  std::string srs = srs_forward(secret, "alice@orig.test", "fwd.test", now);
  CHECK(srs.rfind("SRS0=", 0) == 0);
  CHECK(srs.ends_with("=orig.test=alice@fwd.test"));
  CHECK(srs_forward(secret, srs, "fwd.test", now) == srs);  // already ours: unchanged
  auto d = srs_reverse(secret, srs, now + 86400);
  CHECK(d.check == SrsCheck::ok);
  CHECK(d.original == "alice@orig.test");
  // Case folded by a remote MTA still decodes.
  std::string upper = srs;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(srs_reverse(secret, upper, now).check == SrsCheck::ok);
  // Forged: wrong hash, other secret, expired, malformed, not SRS.
  std::string forged = srs;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  CHECK(srs_reverse(secret, forged, now).check == SrsCheck::bad_hash);
  CHECK(srs_reverse("other-secret", srs, now).check == SrsCheck::bad_hash);
  CHECK(srs_reverse(secret, srs, now + 30 * 86400).check == SrsCheck::expired);
  CHECK(srs_reverse(secret, "SRS0=abc@fwd.test", now).check == SrsCheck::malformed);
  CHECK(srs_reverse(secret, "bob@fwd.test", now).check == SrsCheck::not_srs);
  std::string made_up = "SRS0=AAAAAA=AA=victim.test=bob@fwd.test";
  CHECK(srs_reverse(secret, made_up, now).check != SrsCheck::ok);
}
