#include "tern/pop3d/connection.hpp"

#include <optional>
#include <string>
#include <utility>

#include "tern/log/assert.hpp"
#include "tern/log/log.hpp"
#include "tern/pop3/message_encoder.hpp"
#include "tern/pop3/response.hpp"
#include "tern/pop3/session.hpp"
#include "tern/auth/login_exchange.hpp"

namespace tern::pop3d {

namespace {

using pop3::Action;
using pop3::RespCode;
using Kind = pop3::Action::Kind;

// "3,5:9,12" (IMAP sequence-set style ranges) for the log.
std::string uid_list(const std::vector<std::uint32_t>& uids) {
  std::string r;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!r.empty()) r += ',';
    r += std::to_string(uids[i]);
    if (j > i) r += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return r.empty() ? "-" : r;
}

class Driver {
 public:
  Driver(net::Connection& c, std::shared_ptr<Pop3Service> svc)
      : c_(c),
        svc_(std::move(svc)),
        s_(svc_->session_options(c.is_tls(), c.listener() == "pop3")),
        peer_(c.peer_ip() + ":" + std::to_string(c.peer_port())) {}

  asio::awaitable<void> run();

 private:
  asio::awaitable<void> perform(Action& a, std::string& out);
  asio::awaitable<void> do_login(const std::string& user, const std::string& password,
                                 std::string_view method, std::string& out);
  asio::awaitable<void> do_authenticate(const Action& a, std::string& out);
  asio::awaitable<void> finish_login(auth::LoginResult& r, std::string_view method, std::string& out);
  asio::awaitable<void> open_maildrop(const auth::AccountRecord& acct, std::string_view method,
                                      std::string& out);
  asio::awaitable<void> do_retrieve(const Action& a, std::string& out);
  asio::awaitable<void> do_update(const Action& a, std::string& out);
  void login_failed(RespCode code, std::string_view text, std::string& out) {
    if (s_.on_login_failed(code, text, out).kind == Kind::Close) close_ = true;
  }

  net::Connection& c_;
  std::shared_ptr<Pop3Service> svc_;
  pop3::Session s_;
  std::string peer_;
  std::optional<Maildrop> md_;
  bool close_ = false;
  std::string end_reason_ = "closed";
  unsigned retrieved_ = 0;
  std::uint64_t deleted_ = 0;
};

asio::awaitable<void> Driver::run() {
  c_.set_timeout(kIdleTimeout);
  c_.write(s_.greeting());
  while (!close_) {
    // PIPELINING (RFC 2449 §6.6): answer everything already received, then send once;
    // and send as soon as kMaxQueuedOutput is queued (backpressure on a non-reader).
    if (!c_.has_buffered_input() || c_.queued_output() >= kMaxQueuedOutput) {
      bool sent = co_await c_.flush();
      if (!sent) {
        end_reason_ = "write error";
        break;
      }
    }
    if (c_.stopping() && !c_.has_buffered_input()) {
      std::string out;
      s_.on_abort("server shutting down", out);
      c_.write(out);
      end_reason_ = "server shutting down";
      break;
    }
    auto l = co_await c_.read_line(pop3::kMaxCommandLine);
    std::string out;
    Action a;
    if (l.status == net::ReadStatus::Ok || l.status == net::ReadStatus::BareLf ||
        l.status == net::ReadStatus::BareCr) {
      // A command ended by LF alone is unambiguous; with a bare CR the CR stays in the
      // text and the parser refuses it.
      if (spdlog::should_log(spdlog::level::debug))
        log::debug(c_.id(), "C: {}", pop3::sanitise_text(log::mask_auth(l.line), 200));
      a = s_.handle_line(l.line, out);
    } else if (l.status == net::ReadStatus::TooLong) {
      a = s_.handle_too_long(out);
    } else {
      // Timeout: RFC 1939 §3 autologout closes without a response and without
      // entering UPDATE, so nothing is deleted. Eof/Error likewise delete nothing.
      if (l.status == net::ReadStatus::Timeout) end_reason_ = "idle timeout";
      else if (l.status == net::ReadStatus::Eof)
        end_reason_ = s_.state() == pop3::State::Transaction ? "dropped (nothing deleted)" : "eof";
      else end_reason_ = "read error";
      close_ = true;
      continue;
    }
    co_await perform(a, out);
    c_.write(out);
  }
  co_await c_.flush();
  md_.reset();  // releases the maildrop lock
  // The server's one disconnect line carries this.
  c_.set_summary(fmt::format("user={} retrieved={} deleted={} errors={} reason=\"{}\"",
                             s_.user().empty() ? "-" : log::escape(s_.user()), retrieved_, deleted_, s_.errors(),
                             end_reason_));
}

// (The SIGILL once seen here came from `!co_await a || !co_await b` inside a switch:
// rule 1 of tern/net/asio.hpp; the switch itself is not a problem, tests/coro/.)
asio::awaitable<void> Driver::perform(Action& a, std::string& out) {
  if (a.kind == Kind::None) {
    // nothing to do: `out` holds the reply
  } else if (a.kind == Kind::Close) {
    close_ = true;
    if (out.rfind("-ERR", 0) == 0) {  // the error limit (QUIT answers +OK)
      end_reason_ = "error limit";
      log::info(c_.id(), "pop3 error limit reached ({} errors)", s_.errors());
    } else {
      end_reason_ = "quit";
    }
  } else if (a.kind == Kind::StartTls) {
    // RFC 2595 §4: the "+OK" goes out in the clear, then the handshake; input the
    // client pipelined after STLS is discarded by start_tls().
    c_.write(out);
    out.clear();
    bool ok = co_await c_.flush();
    if (ok) ok = co_await c_.start_tls();
    if (!ok) {
      log::info(c_.id(), "pop3 STLS handshake failed");
      end_reason_ = "TLS handshake failed";
      close_ = true;
    } else {
      s_.on_tls_started();
      log::info(c_.id(), "pop3 STLS {} {}", c_.tls_info().version, c_.tls_info().cipher);
    }
  } else if (a.kind == Kind::Login) {
    co_await do_login(a.user, a.password, "USER", out);
  } else if (a.kind == Kind::Authenticate) {
    co_await do_authenticate(a, out);
  } else if (a.kind == Kind::Retrieve) {
    co_await do_retrieve(a, out);
  } else if (a.kind == Kind::Update) {
    co_await do_update(a, out);
  }
}

// USER/PASS and AUTH both go through the shared login driver (tern/auth/login_exchange.hpp);
// the answers come from its one table (RFC 3206 [AUTH] / [SYS/TEMP]).
asio::awaitable<void> Driver::finish_login(auth::LoginResult& r, std::string_view method,
                                           std::string& out) {
  if (r.ok()) {
    co_await open_maildrop(*r.account, method, out);
    co_return;
  }
  if (r.outcome == auth::LoginOutcome::Closed || r.outcome == auth::LoginOutcome::Timeout) {
    close_ = true;
    end_reason_ = r.outcome == auth::LoginOutcome::Timeout ? "timeout during AUTH" : "dropped during AUTH";
    co_return;
  }
  const auto& lr = auth::login_reply(r.outcome);
  RespCode code = RespCode::None;
  if (lr.pop3_code == "AUTH") code = RespCode::Auth;
  else if (lr.pop3_code == "SYS/TEMP") code = RespCode::SysTemp;
  log::info(c_.id(), "pop3 login {} user={} method={} reason={}", auth::outcome_name(r.outcome),
            pop3::sanitise_text(r.login), method, r.detail);
  login_failed(code, lr.text, out);
}

asio::awaitable<void> Driver::do_login(const std::string& user, const std::string& password,
                                       std::string_view method, std::string& out) {
  std::string u = user, pw = password;
  auth::LoginResult r = co_await auth::password_login(c_, svc_->authenticator(), std::move(u), std::move(pw));
  co_await finish_login(r, method, out);
}

asio::awaitable<void> Driver::open_maildrop(const auth::AccountRecord& acct, std::string_view method,
                                            std::string& out) {
  Pop3Service* svc = svc_.get();
  store::AccountId id = acct.id;
  auto res = co_await c_.run_blocking([svc, id]() { return svc->open_maildrop(id); });
  if (res.status == OpenStatus::InUse) {
    // RFC 2449 §8.1.2 [IN-USE]: another session holds the maildrop lock.
    log::info(c_.id(), "pop3 login user={} method={}: maildrop in use", acct.address, method);
    login_failed(RespCode::InUse, "maildrop already locked by another session", out);
    co_return;
  }
  if (res.status != OpenStatus::Ok) {
    log::error(c_.id(), "pop3 login user={}: cannot open maildrop: {}", acct.address, res.error);
    login_failed(RespCode::SysTemp, "unable to open maildrop, try again later", out);
    co_return;
  }
  md_.emplace(std::move(res.maildrop));
  auto msgs = md_->messages;  // the session keeps its own copy of the snapshot
  s_.on_login_ok(acct.address, std::move(msgs), out);
  log::info(c_.id(), "pop3 login user={} method={} messages={} tls={}", acct.address, method,
            md_->messages.size(), c_.is_tls() ? "yes" : "no");
}

asio::awaitable<void> Driver::do_authenticate(const Action& a, std::string& out) {
  // RFC 5034 §4: challenges are "+ " and base64 (possibly empty).
  static constexpr auth::LoginProtocol kPop3{"pop3", "+ ", kMaxSaslLine};
  std::string mech = a.mechanism;
  std::optional<std::string> ir = a.initial_response;
  auth::LoginResult r =
      co_await auth::sasl_login(c_, svc_->authenticator(), kPop3, std::move(mech), std::move(ir));
  const std::string method = "AUTH " + r.mechanism;
  co_await finish_login(r, method, out);
}

asio::awaitable<void> Driver::do_retrieve(const Action& a, std::string& out) {
  // `out` holds the "+OK" line; the body follows in segments of ~kRetrSegment so a
  // large message is never held whole. A message expunged (over IMAP) after the
  // snapshot is detected before anything is sent for it.
  TERN_ASSERT(md_.has_value());  // RETR/TOP are TRANSACTION commands: after a login
  pop3::MessageEncoder enc(a.top_lines);
  std::string buf = std::move(out);
  out.clear();
  std::uint64_t skip = 0;
  bool first = true;
  for (;;) {
    auto sr = svc_->encode_segment(md_->inbox, a.uid, skip, enc, buf, kRetrSegment);
    if (sr.error) {
      if (first) {
        log::info(c_.id(), "pop3 uid {} unreadable: {}", a.uid, sr.error.message());
        out = pop3::err("message no longer available");
      } else {
        log::error(c_.id(), "pop3 uid {} read failed mid-message: {}", a.uid, sr.error.message());
        close_ = true;
        end_reason_ = "store read error";
      }
      co_return;
    }
    skip += sr.consumed;
    if (sr.end) {
      enc.finish(buf);
      out = std::move(buf);
      ++retrieved_;
      log::info(c_.id(), "pop3 {} user={} msg={} uid={}", a.top_lines ? "top" : "retr", log::escape(s_.user()),
                a.index + 1, a.uid);
      co_return;
    }
    c_.write(buf);
    buf.clear();
    first = false;
    bool sent = co_await c_.flush();
    if (!sent) {
      close_ = true;
      end_reason_ = "write error";
      co_return;
    }
  }
}

asio::awaitable<void> Driver::do_update(const Action& a, std::string& out) {
  // RFC 1939 §6: the messages marked deleted are removed only now, all in one store
  // transaction; a connection that drops before QUIT never gets here.
  bool ok = true;
  if (!a.deletions.empty()) {
    TERN_ASSERT(md_.has_value());  // deletions come from a TRANSACTION maildrop
    Pop3Service* svc = svc_.get();
    store::MailboxId inbox = md_->inbox;
    const std::vector<store::Uid>* dels = &a.deletions;
    auto r = co_await c_.run_blocking([svc, inbox, dels]() { return svc->expunge(inbox, *dels); });
    if (r) {
      deleted_ = r->size();
      log::info(c_.id(), "pop3 deleted user={} count={} uids={}", log::escape(s_.user()), r->size(),
                uid_list(a.deletions));
    } else {
      ok = false;
      log::error(c_.id(), "pop3 UPDATE user={} expunge of {} messages failed: {}", s_.user(),
                 a.deletions.size(), r.error().message());
    }
  }
  // The lock goes before the reply does: a client that reads QUIT's +OK may log in
  // again at once, and must not find its own finished session holding the maildrop
  // (RFC 1939 §6 names the release after the reply; nothing needs the lock once the
  // deletions are committed or refused).
  md_.reset();
  s_.on_update_done(ok, out);
  close_ = true;
  end_reason_ = ok ? "quit" : "quit (expunge failed)";
}

}  // namespace

asio::awaitable<void> serve_pop3(net::Connection& conn, std::shared_ptr<Pop3Service> svc) {
  Driver d(conn, std::move(svc));
  co_await d.run();
}

}  // namespace tern::pop3d
