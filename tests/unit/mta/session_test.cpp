// SmtpSession state machine: command sequences in, replies and actions out (no sockets).
#include <catch2/catch.hpp>

#include "../expect_abort.hpp"
#include "session.hpp"

using namespace tern::mta;
using tern::smtp::Reply;

namespace {

SessionOptions mx() {
  SessionOptions o;
  o.hostname = "mx.example.test";
  o.id = "T1";
  o.max_message_size = 1000;
  o.max_recipients = 3;
  o.error_limit = 5;
  return o;
}

// Send a line and return the replies it produced.
std::string say(SmtpSession& s, std::string_view line, Action::Kind expect = Action::Kind::None) {
  auto a = s.on_line(line);
  CHECK(a.kind == expect);
  return s.take_output();
}

RecipientRoute local_route() {
  RecipientRoute r;
  tern::store::LocalRecipient l;
  l.account = 1;
  l.address = "a@example.test";
  r.local.push_back(l);
  return r;
}

}  // namespace

TEST_CASE("greeting, EHLO advertises the extensions", "[smtp][session]") {
  SmtpSession s(mx());
  s.greet();
  CHECK(s.take_output() == "220 mx.example.test ESMTP tern\r\n");
  auto r = say(s, "EHLO client.example");
  CHECK(r ==
        "250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
        "250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-DSN\r\n250-STARTTLS\r\n250 HELP\r\n");
  CHECK(s.state() == State::Ready);
  CHECK(s.helo() == "client.example");
}

TEST_CASE("a whole transaction with DATA", "[smtp][session]") {
  SmtpSession s(mx());
  say(s, "EHLO c");
  CHECK(say(s, "MAIL FROM:<x@remote.example> SIZE=100", Action::Kind::CheckSender).empty());
  CHECK(s.transaction().params.size == 100u);
  s.sender_checked({});
  CHECK(s.take_output() == "250 2.1.0 Sender OK\r\n");
  CHECK(say(s, "RCPT TO:<a@example.test> NOTIFY=FAILURE", Action::Kind::CheckRecipient).empty());
  CHECK(s.pending_recipient().path.address() == "a@example.test");
  s.recipient_checked({}, local_route());
  CHECK(s.take_output() == "250 2.1.5 Recipient OK\r\n");
  CHECK(say(s, "DATA", Action::Kind::ReadData) == "354 End data with <CR><LF>.<CR><LF>\r\n");
  CHECK(s.state() == State::Data);
  CHECK(s.transaction().recipients.size() == 1);
  CHECK(s.transaction().recipients[0].params.notify == tern::smtp::notify_failure);
  s.message_done(Reply(250, "2.0.0", "Ok: queued as X"));
  CHECK(s.take_output() == "250 2.0.0 Ok: queued as X\r\n");
  CHECK(s.state() == State::Ready);
  CHECK(s.transaction().recipients.empty());
  CHECK(say(s, "QUIT", Action::Kind::Close) == "221 2.0.0 mx.example.test Bye\r\n");
}

TEST_CASE("sequence errors (design §6)", "[smtp][session]") {
  auto o = mx();
  o.error_limit = 20;
  SmtpSession s(o);
  CHECK(say(s, "MAIL FROM:<a@b>") == "503 5.5.1 Send HELO/EHLO first\r\n");
  CHECK(say(s, "RCPT TO:<a@b>") == "503 5.5.1 Send HELO/EHLO first\r\n");
  say(s, "HELO c");
  CHECK(say(s, "RCPT TO:<a@b>") == "503 5.5.1 Need MAIL command\r\n");
  CHECK(say(s, "DATA") == "503 5.5.1 Need MAIL command\r\n");
  // HELO (not EHLO): no ESMTP parameters.
  CHECK(say(s, "MAIL FROM:<a@b> SIZE=10") == "555 5.5.4 Parameters need EHLO\r\n");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  s.take_output();
  CHECK(say(s, "MAIL FROM:<a@b>") == "503 5.5.1 Nested MAIL command\r\n");
  CHECK(say(s, "DATA") == "554 5.5.1 No valid recipients\r\n");
  CHECK(s.errors() == 7);
}

TEST_CASE("RSET drops only the transaction", "[smtp][session]") {
  SmtpSession s(mx());
  say(s, "EHLO c");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  say(s, "RCPT TO:<a@example.test>", Action::Kind::CheckRecipient);
  s.recipient_checked({}, local_route());
  s.take_output();
  CHECK(say(s, "RSET") == "250 2.0.0 Ok\r\n");
  CHECK(s.state() == State::Ready);
  CHECK(s.transaction().recipients.empty());
  CHECK(s.helo() == "c");
  CHECK(s.esmtp());
}

TEST_CASE("recipient limits and refusals", "[smtp][session]") {
  SmtpSession s(mx());
  say(s, "EHLO c");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  for (int i = 0; i < 3; ++i) {
    say(s, "RCPT TO:<a@example.test>", Action::Kind::CheckRecipient);
    s.recipient_checked({}, local_route());
  }
  s.take_output();
  CHECK(say(s, "RCPT TO:<b@example.test>") == "452 4.5.3 Too many recipients\r\n");
  CHECK(s.errors() == 0);
  say(s, "RSET");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  say(s, "RCPT TO:<nobody@example.test>", Action::Kind::CheckRecipient);
  s.recipient_checked(Reply(550, "5.1.1", "No such user"), {});
  CHECK(s.take_output() == "550 5.1.1 No such user\r\n");
  CHECK(s.errors() == 1);
  CHECK(s.state() == State::Mail);
  say(s, "RCPT TO:<full@example.test>", Action::Kind::CheckRecipient);
  s.recipient_checked(Reply(452, "4.2.2", "Mailbox full"), {});
  CHECK(s.errors() == 1);  // temporary refusals do not count
}

TEST_CASE("SIZE over the limit and UTF-8 without SMTPUTF8", "[smtp][session]") {
  SmtpSession s(mx());
  say(s, "EHLO c");
  CHECK(say(s, "MAIL FROM:<a@b> SIZE=1001") == "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
  CHECK(say(s, "MAIL FROM:<\xc3\xa9@b>") == "553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  s.take_output();
  CHECK(say(s, "RCPT TO:<\xc3\xa9@example.test>") == "553 5.6.7 Non-ASCII address needs SMTPUTF8\r\n");
  say(s, "RSET");
  say(s, "MAIL FROM:<\xc3\xa9@b> SMTPUTF8", Action::Kind::CheckSender);
  s.sender_checked({});
  say(s, "RCPT TO:<\xc3\xa9@example.test>", Action::Kind::CheckRecipient);
}

TEST_CASE("error limit closes with 421 4.7.0", "[smtp][session]") {
  SmtpSession s(mx());
  for (int i = 0; i < 4; ++i) CHECK(say(s, "BOGUS") == "500 5.5.1 Command unrecognized\r\n");
  auto a = s.on_line("BOGUS");
  CHECK(a.kind == Action::Kind::Close);
  CHECK(s.take_output() == "500 5.5.1 Command unrecognized\r\n421 4.7.0 mx.example.test Too many errors, closing connection\r\n");
  CHECK(s.state() == State::Closed);
  CHECK(s.on_line("NOOP").kind == Action::Kind::Close);
}

TEST_CASE("overlong and bare-LF command lines are refused", "[smtp][session]") {
  SmtpSession s(mx());
  CHECK(s.on_line_too_long().kind == Action::Kind::None);
  CHECK(s.take_output() == "500 5.5.2 Line too long\r\n");
  s.on_bare_line_ending();
  CHECK(s.take_output().rfind("500 5.5.2", 0) == 0);
  CHECK(s.errors() == 2);
  s.on_timeout();
  CHECK(s.take_output() == "421 4.4.2 mx.example.test Timeout exceeded, closing connection\r\n");
}

TEST_CASE("VRFY never reveals users, HELP, NOOP, EXPN", "[smtp][session]") {
  SmtpSession s(mx());
  CHECK(say(s, "VRFY root").rfind("252 2.1.5 ", 0) == 0);
  CHECK(say(s, "VRFY nobody-at-all").rfind("252 2.1.5 ", 0) == 0);
  CHECK(say(s, "EXPN staff") == "502 5.5.1 EXPN not available\r\n");
  CHECK(say(s, "NOOP") == "250 2.0.0 Ok\r\n");
  CHECK(say(s, "HELP").rfind("214-2.0.0 ", 0) == 0);
}

TEST_CASE("STARTTLS resets the session (RFC 3207 4.2)", "[smtp][session]") {
  SmtpSession s(mx());
  CHECK(say(s, "STARTTLS") == "503 5.5.1 Send EHLO first\r\n");
  say(s, "EHLO c");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  s.take_output();
  CHECK(say(s, "STARTTLS", Action::Kind::StartTls) == "220 2.0.0 Ready to start TLS\r\n");
  s.tls_started();
  CHECK(s.state() == State::Connected);
  CHECK(s.helo().empty());
  CHECK(s.transaction().sender.local.empty());
  CHECK(say(s, "MAIL FROM:<a@b>") == "503 5.5.1 Send HELO/EHLO first\r\n");
  auto e = say(s, "EHLO c");
  CHECK(e.find("STARTTLS") == std::string::npos);
  CHECK(e.find("AUTH") == std::string::npos);  // MX without [smtp] auth
  CHECK(say(s, "STARTTLS") == "503 5.5.1 Already running TLS\r\n");
  CHECK(say(s, "AUTH PLAIN") == "503 5.5.1 AUTH not available\r\n");
}

TEST_CASE("submission: TLS first, AUTH only after TLS, AUTH before MAIL", "[smtp][session][auth]") {
  auto o = mx();
  o.kind = ListenerKind::Submission;
  o.auth_enabled = true;
  o.auth_required = true;
  o.error_limit = 20;
  SmtpSession s(o);
  auto e = say(s, "EHLO c");
  CHECK(e.find("AUTH") == std::string::npos);  // never before TLS
  CHECK(say(s, "MAIL FROM:<a@b>") == "530 5.7.0 Must issue a STARTTLS command first\r\n");
  CHECK(say(s, "AUTH PLAIN") == "530 5.7.0 Must issue a STARTTLS command first\r\n");
  say(s, "STARTTLS", Action::Kind::StartTls);
  s.tls_started();
  e = say(s, "EHLO c");
  CHECK(e.find("250-AUTH PLAIN LOGIN SCRAM-SHA-256\r\n") != std::string::npos);
  CHECK(say(s, "MAIL FROM:<a@b>") == "530 5.7.0 Authentication required\r\n");
  CHECK(say(s, "AUTH CRAM-MD5") == "504 5.5.4 Unrecognized authentication type\r\n");
  auto a = s.on_line("AUTH PLAIN AGEAYg==");
  CHECK(a.kind == Action::Kind::Auth);
  CHECK(a.mechanism == "PLAIN");
  CHECK(a.initial == "AGEAYg==");
  s.auth_done(std::nullopt, Reply(535, "5.7.8", "Authentication credentials invalid"));
  CHECK(s.take_output() == "535 5.7.8 Authentication credentials invalid\r\n");
  CHECK_FALSE(s.identity());
  s.on_line("AUTH LOGIN");
  s.auth_done(AuthIdentity{7, "a@example.test", "LOGIN"}, Reply(235, "2.7.0", "Authentication successful"));
  CHECK(s.take_output() == "235 2.7.0 Authentication successful\r\n");
  CHECK(s.may_relay());
  CHECK(say(s, "AUTH PLAIN") == "503 5.5.1 Already authenticated\r\n");
  CHECK(say(s, "EHLO c").find("AUTH") == std::string::npos);
  say(s, "MAIL FROM:<a@example.test>", Action::Kind::CheckSender);
  CHECK(s.protocol_keyword() == "ESMTPSA");
}

TEST_CASE("implicit TLS listener: AUTH at once, 538 on plaintext MX with auth", "[smtp][session][auth]") {
  auto o = mx();
  o.kind = ListenerKind::Submissions;
  o.tls = true;
  o.auth_enabled = true;
  o.auth_required = true;
  SmtpSession s(o);
  CHECK(say(s, "EHLO c").find("AUTH PLAIN LOGIN SCRAM-SHA-256") != std::string::npos);
  auto m = mx();
  m.auth_enabled = true;
  SmtpSession p(m);
  say(p, "EHLO c");
  CHECK(say(p, "AUTH PLAIN") == "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
}

TEST_CASE("BDAT chunks, and refused BDAT still reads its octets", "[smtp][session][bdat]") {
  SmtpSession s(mx());
  say(s, "EHLO c");
  auto a = s.on_line("BDAT 5");
  CHECK(a.kind == Action::Kind::ReadBdat);
  CHECK(a.bdat_discard);
  CHECK(s.take_output() == "503 5.5.1 Need MAIL command\r\n");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  say(s, "RCPT TO:<a@example.test>", Action::Kind::CheckRecipient);
  s.recipient_checked({}, local_route());
  s.take_output();
  a = s.on_line("BDAT 10");
  CHECK(a.kind == Action::Kind::ReadBdat);
  CHECK_FALSE(a.bdat_discard);
  CHECK(a.bdat_size == 10);
  CHECK_FALSE(a.bdat_last);
  s.bdat_chunk_done(10);
  CHECK(s.take_output() == "250 2.0.0 10 octets received\r\n");
  CHECK(s.state() == State::Bdat);
  CHECK(say(s, "DATA") == "503 5.5.1 DATA not allowed after BDAT\r\n");
  a = s.on_line("BDAT 0 LAST");
  CHECK(a.bdat_last);
  s.message_done(Reply(250, "2.0.0", "Ok"));
  CHECK(s.state() == State::Ready);
}

TEST_CASE("protocol keyword for Received (RFC 3848, 6531)", "[smtp][session]") {
  SmtpSession s(mx());
  say(s, "HELO c");
  CHECK(s.protocol_keyword() == "SMTP");
  say(s, "EHLO c");
  CHECK(s.protocol_keyword() == "ESMTP");
  say(s, "MAIL FROM:<a@b> SMTPUTF8", Action::Kind::CheckSender);
  CHECK(s.protocol_keyword() == "UTF8SMTP");
}

TEST_CASE("junk commands: past junk_limit each NOOP/RSET/VRFY/HELP is an error", "[smtp][session][limits]") {
  auto o = mx();
  o.junk_limit = 3;
  o.error_limit = 3;
  SmtpSession s(o);
  say(s, "EHLO c");
  for (int i = 0; i < 3; ++i) CHECK(say(s, i % 2 ? "RSET" : "NOOP") == "250 2.0.0 Ok\r\n");
  CHECK(s.errors() == 0);
  CHECK(say(s, "VRFY x").rfind("252 ", 0) == 0);  // the 4th: still answered, now counted
  CHECK(s.errors() == 1);
  CHECK(say(s, "HELP").rfind("214", 0) == 0);
  CHECK(s.errors() == 2);
  auto a = s.on_line("NOOP");
  CHECK(a.kind == Action::Kind::Close);
  CHECK(s.take_output() == "250 2.0.0 Ok\r\n421 4.7.0 mx.example.test Too many errors, closing connection\r\n");
  CHECK(s.state() == State::Closed);
}

TEST_CASE("junk count starts again after a delivered message; EHLO/MAIL are not junk", "[smtp][session][limits]") {
  auto o = mx();
  o.junk_limit = 2;
  SmtpSession s(o);
  say(s, "EHLO c");
  say(s, "NOOP");
  say(s, "NOOP");
  CHECK(s.junk_commands() == 2);
  say(s, "EHLO c");
  say(s, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  s.sender_checked({});
  CHECK(s.junk_commands() == 2);
  say(s, "RCPT TO:<a@example.test>", Action::Kind::CheckRecipient);
  s.recipient_checked({}, local_route());
  say(s, "DATA", Action::Kind::ReadData);
  s.message_done(Reply(250, "2.0.0", "Ok"));
  CHECK(s.junk_commands() == 0);
  CHECK(s.errors() == 0);
}

TEST_CASE("the command table: allowed states, pipeline groups, BDAT payload", "[smtp][session]") {
  SmtpSession s(mx());
  // ends_pipeline_group: EHLO, NOOP, DATA wait for their reply; MAIL and RCPT do not.
  s.on_line("EHLO c");
  CHECK(s.must_flush());
  s.take_output();
  s.on_line("MAIL FROM:<a@b>");
  CHECK_FALSE(s.must_flush());
  s.sender_checked({});
  s.on_line("RCPT TO:<a@example.test>");
  CHECK_FALSE(s.must_flush());
  s.recipient_checked({}, local_route());
  s.take_output();
  // HELO in the middle of BDAT is out of sequence.
  CHECK(s.on_line("BDAT 3").kind == Action::Kind::ReadBdat);
  s.bdat_chunk_done(3);
  s.take_output();
  CHECK(say(s, "HELO c") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(s, "STARTTLS") == "503 5.5.1 Bad sequence of commands\r\n");
  CHECK(say(s, "MAIL FROM:<a@b>") == "503 5.5.1 Nested MAIL command\r\n");
  // A refused BDAT (state) still reads its octets.
  SmtpSession t(mx());
  auto a = t.on_line("BDAT 7 LAST");
  CHECK(a.kind == Action::Kind::ReadBdat);
  CHECK(a.bdat_discard);
  CHECK(a.bdat_size == 7);
  CHECK(t.take_output() == "503 5.5.1 Send HELO/EHLO first\r\n");
  // BDAT after HELO (not EHLO) in a transaction: refused, octets read.
  say(t, "HELO c");
  say(t, "MAIL FROM:<a@b>", Action::Kind::CheckSender);
  t.sender_checked({});
  say(t, "RCPT TO:<a@example.test>", Action::Kind::CheckRecipient);
  t.recipient_checked({}, local_route());
  t.take_output();
  a = t.on_line("BDAT 2");
  CHECK(a.bdat_discard);
  CHECK(t.take_output() == "503 5.5.1 BDAT needs EHLO\r\n");
}

// The driver's callbacks out of order (a bug injected on purpose) abort with
// TERN_ASSERT's file:line instead of corrupting the transaction.
namespace {
bool names_assert(const std::string& err, const char* expr) {
  return tern::test::assert_message(err, expr, "mta/smtp_server/session.cpp");
}
}  // namespace

TEST_CASE("SMTP session: callbacks out of order abort", "[smtp][session][assert]") {
  // The end of a message that never had DATA.
  CHECK(names_assert(tern::test::expect_abort([] {
                SmtpSession s(mx());
                s.on_line("EHLO c");
                s.message_done(Reply(250, "2.0.0", "Ok"));
              }),
              "state_ == State::Data || state_ == State::Bdat"));
  // A sender check result before any MAIL (and before EHLO).
  CHECK(names_assert(tern::test::expect_abort([] {
                SmtpSession s(mx());
                s.sender_checked({});
              }),
              "state_ == State::Ready"));
  // A recipient check result without MAIL.
  CHECK(names_assert(tern::test::expect_abort([] {
                SmtpSession s(mx());
                s.on_line("EHLO c");
                s.recipient_checked({}, {});
              }),
              "state_ == State::Mail || state_ == State::Rcpt"));
  // TLS started twice.
  CHECK(names_assert(tern::test::expect_abort([] {
                SmtpSession s(mx());
                s.on_line("EHLO c");
                s.tls_started();
                s.on_line("EHLO c");
                s.tls_started();
              }),
              "!tls_"));
  // The legal order does not abort.
  CHECK(tern::test::expect_abort([] {
          SmtpSession s(mx());
          s.on_line("EHLO c");
          s.on_line("MAIL FROM:<a@b.example>");
          s.sender_checked({});
          s.on_line("RCPT TO:<c@d.example>");
          RecipientRoute r;
          s.recipient_checked({}, r);
          s.on_line("DATA");
          s.message_done(Reply(250, "2.0.0", "Ok"));
          s.on_line("QUIT");
        }) == "");
}
