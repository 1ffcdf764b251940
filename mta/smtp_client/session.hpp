#pragma once
// ClientSession: the outbound SMTP client as a pure state machine (no sockets, no
// timers, no store) — replies in, actions out. The driver (driver.hpp) owns the
// socket, reads replies with ReplyParser, performs the actions and asks
// wait_timeout() how long each read may take (RFC 5321 §4.5.3.2).
//
// One session = one connection to one host; several messages may follow each other
// (start_message() whenever ready() is true). Per message, the results are per
// recipient (RcptResult) plus the DATA/BDAT reply.
//
// Behaviour:
//   - EHLO; a 5xx to EHLO falls back to HELO (RFC 5321 §3.2) without extensions.
//   - STARTTLS when offered and Policy::tls != none (and always when tls = required);
//     required and not offered, or refused -> connection failure (temporary).
//     After the 220 the driver must discard whatever it had buffered before the
//     handshake (injection, CVE-2011-0411 class) and then call on_tls_done().
//   - AUTH PLAIN (preferred) or LOGIN when credentials are set (smarthost); only
//     over TLS. 535 -> permanent failure "authentication refused".
//   - PIPELINING (RFC 2920): MAIL, every RCPT and DATA in one write; otherwise one
//     command at a time. CHUNKING (RFC 3030): BDAT <size> LAST instead of DATA.
//   - Extensions a message needs (Envelope::needs_*) the peer lacks -> the message
//     fails permanently before MAIL with a clear reply (5.3.4 too big for the
//     peer's SIZE, 5.6.3 8-bit data without 8BITMIME, 5.6.7 SMTPUTF8 addresses).
//     DSN parameters are sent only when the peer offers DSN; otherwise
//     dsn_relayed() tells the caller to issue the "relayed" notice (RFC 3461 §4.3).
//   - 421 at any point ends the session: every unfinished recipient gets it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tern/smtp/reply.hpp"

namespace tern::mta::client {

enum class TlsPolicy { none, may, required };

struct Policy {
  std::string helo_name;         // our hostname
  TlsPolicy tls = TlsPolicy::may;
  bool implicit_tls = false;     // the connection is TLS from the start (port 465)
  std::string auth_user;         // non-empty: AUTH required (smarthost)
  std::string auth_password;
};

struct EnvelopeRcpt {
  std::string address;
  std::string notify;  // DSN NOTIFY value ("SUCCESS,DELAY") or ""
  std::string orcpt;   // ORCPT as received: "rfc822;" xtext ("rfc822;a+2Bb@x"), or ""
};

struct Envelope {
  std::string mail_from;  // "" = null sender
  std::vector<EnvelopeRcpt> rcpts;
  std::uint64_t size = 0;      // exact octets the driver will send as the body
  bool needs_8bitmime = false; // body has octets > 127
  bool needs_smtputf8 = false; // an envelope address is not ASCII
  std::string ret;             // DSN RET (FULL/HDRS) or ""
  std::string envid;           // DSN ENVID, decoded (the session xtext-encodes it), or ""
};

struct Extensions {
  bool esmtp = false;  // EHLO accepted
  bool pipelining = false, eightbitmime = false, smtputf8 = false, chunking = false;
  bool dsn = false, starttls = false, enhancedstatuscodes = false;
  std::optional<std::uint64_t> size;  // SIZE n (0 = no fixed limit)
  std::set<std::string> auth;         // mechanisms, upper case
};

// What the driver must do next.
struct Action {
  enum Kind {
    wait,        // read the next reply (nothing to send)
    send,        // write `bytes`, then read the next reply
    start_tls,   // discard buffered input, TLS handshake, then on_tls_done()
    send_body,   // write the body: dot-stuffed + ".\r\n" (DATA) or `bytes` (the BDAT
                 // command line) followed by the raw body (BDAT); then read
    message_done,// the current message finished: read message_result(); ready() again
    ready,       // connection set up; call start_message() or quit()
    close        // close the connection (after QUIT's reply or on failure)
  } kind = wait;
  std::string bytes;
  bool bdat = false;  // send_body: BDAT framing
};

struct MessageResult {
  std::vector<smtp::Reply> rcpt;  // one per Envelope::rcpts, same order
  bool dsn_relayed = false;       // sent without DSN params (peer lacks DSN)
};

class ClientSession {
 public:
  enum class State {
    greeting, ehlo, helo, starttls, tls_handshake, auth, auth_login_user, auth_login_pass,
    ready, mail, rcpt, data, data_body, rset, quit, closed
  };

  explicit ClientSession(Policy p);

  // Connected: the first action is wait (the 220 greeting).
  Action on_connected();
  Action on_reply(const smtp::Reply& r);
  // After start_tls: ok = handshake done (and verified where the policy requires).
  Action on_tls_done(bool ok, std::string error = {});
  // A transport failure (EOF, timeout, I/O error) with its text; always close.
  Action on_transport_error(std::string error);

  // Only when ready(). Returns send (commands) or message_done (the message cannot
  // go to this peer: every rcpt already has its result).
  Action start_message(const Envelope& env);
  Action quit();

  bool ready() const { return state_ == State::ready; }
  State state() const { return state_; }
  const Extensions& extensions() const { return ext_; }
  bool tls_active() const { return tls_; }
  // Set when the session ended before all messages could be tried: the reply that
  // explains why (421, a failed EHLO, TLS required but absent, ...). Temporary
  // unless `failure_permanent()`.
  const smtp::Reply& failure() const { return failure_; }
  bool failure_permanent() const { return failure_.permanent(); }
  // The current or last message's results.
  const MessageResult& message_result() const { return result_; }
  // RFC 5321 §4.5.3.2 timeout for the read the session now waits for.
  std::chrono::seconds wait_timeout() const;

  static const char* state_name(State s);

 private:
  void enter_state(State s);
  Action fail(smtp::Reply r);            // connection-level failure -> close
  Action after_ehlo();                   // STARTTLS / AUTH / ready
  Action begin_auth();
  Action send_next_rcpt_or_data();
  Action finish_message(const smtp::Reply* data_reply);
  std::string mail_command() const;
  std::string rcpt_command(const EnvelopeRcpt& r) const;
  std::string body_command() const;     // "DATA\r\n" or "BDAT n LAST\r\n"
  void parse_ehlo(const smtp::Reply& r);

  Policy policy_;
  State state_ = State::greeting;
  Extensions ext_;
  bool tls_ = false;
  smtp::Reply failure_;
  // Current message.
  Envelope env_;
  MessageResult result_;
  std::size_t next_rcpt_ = 0;    // next RCPT reply expected (index)
  std::size_t rcpt_sent_ = 0;    // without pipelining: RCPTs sent so far
  bool pipelined_ = false;
  bool data_pipelined_ = false;  // DATA went with the pipelined group
  std::size_t accepted_ = 0;
  bool mail_failed_ = false;     // MAIL refused; pipelined replies still to drain
  bool empty_body_ = false;      // 354 with no accepted rcpt: sent ".", then RSET
};

}  // namespace tern::mta::client
