// SMTP connection driver (coroutine). The protocol decisions are SmtpSession's; this
// file only moves bytes, waits, and calls the store on the blocking pool.
#include "connection.hpp"

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstring>

#include "checks.hpp"
#include "checks/inbound.hpp"
#include "data_deadline.hpp"
#include "data_sink.hpp"
#include "return_path_filter.hpp"
#include "submission_fields.hpp"
#include "delivery.hpp"
#include "event_recorder.hpp"
#include "tern/authres/authres.hpp"
#include "tern/log/assert.hpp"
#include "tern/log/log.hpp"
#include "tern/auth/login_exchange.hpp"
#include "tern/smtp/address.hpp"
#include "tern/smtp/data_reader.hpp"
#include "tern/util/line_framer.hpp"

namespace tern::mta {

using smtp::Reply;
namespace esc = smtp::esc;

bool ip_in_networks(std::string_view ip, const std::vector<std::string>& cidrs) {
  unsigned char a[16];
  std::string ips(ip);
  int fam = ips.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(fam, ips.c_str(), a) != 1) return false;
  const int len = fam == AF_INET6 ? 16 : 4;
  for (const auto& c : cidrs) {
    auto slash = c.find('/');
    std::string net = c.substr(0, slash);
    int cfam = net.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (cfam != fam) continue;
    unsigned char b[16];
    if (inet_pton(fam, net.c_str(), b) != 1) continue;
    int bits = len * 8;
    if (slash != std::string::npos) {
      try {
        bits = std::stoi(c.substr(slash + 1));
      } catch (...) {
        continue;
      }
      if (bits < 0 || bits > len * 8) continue;
    }
    bool match = true;
    for (int i = 0; i < len && match; ++i) {
      int take = std::min(8, std::max(0, bits - i * 8));
      if (take == 0) break;
      unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
      if ((a[i] & mask) != (b[i] & mask)) match = false;
    }
    if (match) return true;
  }
  return false;
}

namespace {

using net::ReadStatus;

// Input with push-back: bytes read past the end of DATA (pipelined commands after
// CRLF.CRLF) are kept here and framed before anything new from the connection.
class Input {
 public:
  Input(net::Connection& c, std::size_t line_max) : conn_(c), local_(line_max) {}

  asio::awaitable<net::LineRead> read_line(std::size_t max) {
    if (local_.empty()) co_return co_await conn_.read_line(max);
    local_.set_max(max);
    while (true) {
      auto r = local_.next();
      switch (r.status) {
        case util::LineStatus::Line: co_return net::LineRead{ReadStatus::Ok, std::move(r.text)};
        case util::LineStatus::TooLong: co_return net::LineRead{ReadStatus::TooLong, {}};
        case util::LineStatus::BareLf: co_return net::LineRead{ReadStatus::BareLf, std::move(r.text)};
        case util::LineStatus::BareCr: co_return net::LineRead{ReadStatus::BareCr, std::move(r.text)};
        case util::LineStatus::NeedMore: break;
      }
      std::string more;
      auto st = co_await conn_.read_some(more);
      if (st != ReadStatus::Ok) co_return net::LineRead{st, {}};
      local_.feed(more);
    }
  }

  asio::awaitable<ReadStatus> read_some(std::string& out) {
    if (!local_.empty()) {
      auto b = local_.buffered();
      out.append(b);
      local_.consume(b.size());
      co_return ReadStatus::Ok;
    }
    co_return co_await conn_.read_some(out);
  }

  asio::awaitable<ReadStatus> read_exact(std::size_t n, std::string& out) {
    if (!local_.empty()) {
      auto b = local_.buffered();
      std::size_t take = std::min(n, b.size());
      out.append(b.substr(0, take));
      local_.consume(take);
      n -= take;
    }
    if (n == 0) co_return ReadStatus::Ok;
    co_return co_await conn_.read_exact(n, out);
  }

  void unread(std::string_view bytes) { local_.feed(bytes); }
  // A complete line waits here (a partial one must not hold back our replies: the
  // client may be waiting for them before it sends the rest).
  bool has_buffered() const {
    return local_.buffered().find('\n') != std::string_view::npos || conn_.has_buffered_input();
  }
  void clear() { local_.clear(); }

 private:
  net::Connection& conn_;
  util::LineFramer local_;
};

const char* status_name(ReadStatus s) {
  switch (s) {
    case ReadStatus::Ok: return "ok";
    case ReadStatus::TooLong: return "too long";
    case ReadStatus::BareLf: return "bare LF";
    case ReadStatus::BareCr: return "bare CR";
    case ReadStatus::Eof: return "eof";
    case ReadStatus::Timeout: return "timeout";
    case ReadStatus::Error: return "error";
  }
  return "?";
}

class Driver {
 public:
  Driver(net::Connection& conn, MtaContext& ctx, const ListenerSetup& setup)
      : conn_(conn), ctx_(ctx), in_(conn, ctx.cfg.limits.command_line), session_(options(conn, ctx, setup)) {}

  asio::awaitable<void> run() {
    const auto& lim = ctx_.cfg.limits;
    // The whole-session limit: every read and write below ends by then.
    conn_.set_session_deadline(std::chrono::steady_clock::now() + lim.session_timeout);
    session_.greet();
    bool greeted = co_await send_all();  // (a named local: rule 3 of tern/net/asio.hpp)
    if (!greeted) co_return;
    while (session_.state() != State::Closed) {
      if (conn_.stopping() && !in_.has_buffered()) {
        session_.on_shutdown();
        end_reason_ = "server shutting down";
        co_await send_all();
        break;
      }
      conn_.set_timeout(lim.command_timeout);
      auto lr = co_await in_.read_line(lim.command_line);
      Action a;
      switch (lr.status) {
        case ReadStatus::Ok:
        {
          const std::size_t before = session_.output().size();
          a = session_.on_line(lr.line);
          std::string_view added = std::string_view(session_.output()).substr(before);
          const bool refused = !added.empty() && (added.front() == '5' || added.front() == '4');
          if (refused && added.front() == '5') {
            // After a refused AUTH the client may send its credentials anyway (it
            // expected a 334): lines that follow are not logged until one is accepted.
            std::string shown = quiet_after_auth_ ? std::string(log::masked) : log::escape(log::mask_auth(lr.line), 80);
            log::info(conn_.id(), "refused \"{}\": {}", shown, first_line(std::string(added)));
          }
          if (refused && is_auth_command(lr.line)) quiet_after_auth_ = true;
          else if (!refused && !added.empty()) quiet_after_auth_ = false;
          break;
        }
        case ReadStatus::TooLong:
          log::info(conn_.id(), "command line too long");
          a = session_.on_line_too_long();
          break;
        case ReadStatus::BareLf:
        case ReadStatus::BareCr:
          log::info(conn_.id(), "command line with {}", status_name(lr.status));
          a = session_.on_bare_line_ending();
          break;
        case ReadStatus::Timeout:
          log_timeout("waiting for a command");
          a = session_.on_timeout();
          break;
        case ReadStatus::Eof:
        case ReadStatus::Error:
          end_reason_ = lr.status == ReadStatus::Eof ? "eof" : "read error";
          set_summary();
          co_return;
      }
      bool go_on = co_await perform(a);
      if (!go_on) break;
      if (session_.state() != State::Bdat) drop_bdat();
      // PIPELINING: answer when the client is waiting, i.e. nothing more is buffered,
      // or when the command ends a pipeline group (the client must wait for it).
      if (!in_.has_buffered() || session_.must_flush() || session_.state() == State::Closed) {
        bool sent = co_await send_all();
        if (!sent) break;
      }
    }
    co_await send_all();
    if (session_.errors() >= ctx_.cfg.limits.error_limit) end_reason_ = "error limit";
    set_summary();
  }

  // For the server's one disconnect line.
  void set_summary() {
    conn_.set_summary(fmt::format("helo={} user={} messages={} errors={} junk={} state={} reason=\"{}\"",
                                  session_.helo().empty() ? "-" : log::escape(session_.helo(), 100),
                                  session_.identity() ? log::escape(session_.identity()->address) : "-", messages_,
                                  session_.errors(), session_.junk_commands(), state_name(session_.state()),
                                  end_reason_));
  }

 private:
  static SessionOptions options(net::Connection& conn, MtaContext& ctx, const ListenerSetup& setup) {
    SessionOptions o;
    o.hostname = ctx.cfg.hostname;
    o.id = conn.id();
    o.kind = setup.kind;
    o.tls = conn.is_tls();
    o.starttls_available = true;
    o.auth_enabled = setup.auth_enabled;
    o.auth_required = setup.auth_required;
    o.trusted_peer = ip_in_networks(conn.peer_ip(), ctx.cfg.smtp.trusted_networks);
    o.max_message_size = ctx.cfg.limits.message_size;
    o.max_recipients = ctx.cfg.limits.recipients;
    o.error_limit = ctx.cfg.limits.error_limit;
    o.junk_limit = ctx.cfg.limits.junk_limit;
    return o;
  }

  void log_timeout(std::string_view where) {
    end_reason_ = conn_.session_expired() ? "session time limit" : "timeout";
    if (conn_.session_expired())
      log::info(conn_.id(), "session time limit ({}s) reached {} (state {})", ctx_.cfg.limits.session_timeout.count(),
                where, state_name(session_.state()));
    else
      log::info(conn_.id(), "timeout {} (state {})", where, state_name(session_.state()));
  }

  static std::string first_line(const std::string& out) {
    auto p = out.find("\r\n");
    return out.substr(0, p);
  }

  static bool is_auth_command(std::string_view line) {
    return line.size() >= 4 && smtp::iequals(line.substr(0, 4), "AUTH") && (line.size() == 4 || line[4] == ' ' || line[4] == '\t');
  }

  // "<session>: <transaction>: " prefix for lines about the current message.
  std::string tx_tag() const { return tx_id_.empty() ? std::string("-") : tx_id_; }

  asio::awaitable<bool> send_all() {
    std::string o = session_.take_output();
    if (o.empty()) co_return true;
    conn_.write(o);
    co_return co_await conn_.flush();
  }

  // Performs actions until the session has nothing more to do. false = close now.
  asio::awaitable<bool> perform(Action a) {
    while (true) {
      switch (a.kind) {
        case Action::Kind::None: co_return true;
        case Action::Kind::Close: co_return false;
        case Action::Kind::CheckSender: a = co_await check_sender_action(); break;
        case Action::Kind::CheckRecipient: a = co_await check_recipient_action(); break;
        case Action::Kind::StartTls: {
          bool sent = co_await send_all();
          if (!sent) co_return false;
          in_.clear();  // RFC 3207 §4.2 / design §6: input pipelined after STARTTLS is discarded
          bool tls = co_await conn_.start_tls();
          if (!tls) {
            log::info(conn_.id(), "TLS handshake failed");
            co_return false;
          }
          auto ti = conn_.tls_info();
          log::info(conn_.id(), "STARTTLS {} {}", ti.version, ti.cipher);
          session_.tls_started();
          co_return true;
        }
        case Action::Kind::Auth: a = co_await auth_action(a); break;
        case Action::Kind::ReadData: a = co_await data_action(); break;
        case Action::Kind::ReadBdat: a = co_await bdat_action(a); break;
      }
    }
  }

  asio::awaitable<Action> check_sender_action() {
    // Unauthenticated senders need no store lookup: no pool hop. SPF (MX listener).
    if (!session_.identity()) {
      co_await spf_action();
      Action next = session_.sender_checked({});
      tx_id_ = log::next_id();
      log::info(conn_.id(), "{}: from=<{}> size={}", tx_id_, log::escape(session_.transaction().sender.address()),
                session_.transaction().params.size ? std::to_string(*session_.transaction().params.size) : "-");
      co_return next;
    }
    Reply r;
    try {
      r = co_await conn_.run_blocking([this] {
        return check_sender(ctx_.store, session_.identity(), session_.transaction().sender);
      });
    } catch (const std::exception& e) {
      log::error(conn_.id(), "sender check failed: {}", e.what());
      r = Reply(451, esc::system_temp, "Temporary lookup failure, try again later");
    }
    if (!r.empty())
      log::info(conn_.id(), "reject MAIL from=<{}>: {}", log::escape(session_.transaction().sender.address()),
                r.summary());
    Action next = session_.sender_checked(r);
    if (session_.state() == State::Mail) {
      // One id per transaction, from MAIL to the mailbox: on its log lines, in the
      // 250 reply, in Received, in the delivery events (as Postfix's queue id).
      tx_id_ = log::next_id();
      log::info(conn_.id(), "{}: from=<{}> size={}", tx_id_, log::escape(session_.transaction().sender.address()),
                session_.transaction().params.size ? std::to_string(*session_.transaction().params.size) : "-");
    }
    co_return next;
  }

  asio::awaitable<Action> check_recipient_action() {
    RcptContext rc;
    rc.may_relay = session_.may_relay();
    rc.hostname = ctx_.cfg.hostname;
    rc.declared_size = session_.transaction().params.size;
    RcptCheck res;
    try {
      // Lambdas given to run_blocking capture only references to frame locals: g++ 12
      // destroyed a by-value std::string capture twice (a coroutine temporary bug).
      res = co_await conn_.run_blocking([this, &rc] {
        return check_recipient(ctx_.store, rc, session_.pending_recipient().path);
      });
    } catch (const std::exception& e) {
      log::error(conn_.id(), "recipient check failed: {}", e.what());
      res.rejection = Reply(451, esc::system_temp, "Temporary lookup failure, try again later");
      res.rule = "exception";
    }
    const std::string rcpt = session_.pending_recipient().path.address();
    if (!res.rejection.empty()) {
      log::info(conn_.id(), "{}: reject RCPT from=<{}> to=<{}> helo={} peer={}: {} rule={}", tx_tag(),
                log::escape(session_.transaction().sender.address()), log::escape(rcpt), log::escape(session_.helo()),
                conn_.peer_ip(), res.rejection.summary(), res.rule);
      store::DeliveryEvent e;
      e.message_id = tx_id_.empty() ? conn_.id() : tx_id_;
      e.sender = session_.transaction().sender.address();
      e.recipient = rcpt;
      e.action = store::EventAction::rejected;
      e.detail = res.rule + ": " + res.rejection.summary();
      record_event(std::move(e));
    }
    co_return session_.recipient_checked(res.rejection, std::move(res.route));
  }

  // SPF, DKIM and DMARC run for mail arriving on the MX listener from clients that are
  // neither authenticated nor in trusted_networks ([checks], mta/checks/inbound.hpp).
  bool checks_apply() const {
    return ctx_.cfg.checks.enabled && ctx_.resolver && session_.options().kind == ListenerKind::Mx &&
           !session_.identity() && !session_.options().trusted_peer;
  }
  std::string authserv_id() const {
    return ctx_.cfg.checks.authserv_id.empty() ? ctx_.cfg.hostname : ctx_.cfg.checks.authserv_id;
  }

  asio::awaitable<void> spf_action() {
    spf_.reset();
    if (!checks_apply()) co_return;
    spf_ = co_await check_spf(*ctx_.resolver, ctx_.check_caches, ctx_.cfg.checks, conn_.peer_ip(),
                              session_.transaction().sender.address(), session_.helo(), ctx_.cfg.hostname);
    const auto& v = spf_->verdict;
    std::string helo_part;
    if (spf_->helo_verdict)
      helo_part = fmt::format(" spf_helo={} helo={}", spf::result_name(spf_->helo_verdict->result),
                              log::escape(spf_->helo, 100));
    log::info(conn_.id(), "spf={} {}={} ip={}{}{}{}", spf::result_name(v.result),
              spf_->helo_identity ? "helo" : "mailfrom",
              log::escape(spf_->helo_identity ? spf_->helo : spf_->mailfrom, 100), conn_.peer_ip(),
              v.mechanism.empty() ? "" : " mechanism=" + v.mechanism, v.problem.empty() ? "" : " (" + v.problem + ")",
              helo_part);
  }

  // End of data: DKIM + DMARC, the Authentication-Results field and the policy.
  // Returns a rejection reply (550 5.7.1) or fills m for delivery.
  asio::awaitable<Reply> message_checks(MessageContext& m, Spool& spool) {
    if (!checks_apply()) co_return Reply{};
    std::string text;
    if (spool.in_file()) {
      const auto path = spool.path();
      text = co_await conn_.run_blocking([&path] {
        std::string t;
        if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
          char buf[65536];
          std::size_t n;
          while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) t.append(buf, n);
          std::fclose(f);
        }
        return t;
      });
    } else {
      text = spool.memory();
    }
    SpfCheck spf = spf_ ? *spf_ : SpfCheck{};
    if (!spf_) spf.verdict.result = spf::Result::none;
    std::vector<std::string> rcpt_domains;
    for (const auto& r : m.recipients) {
      std::string a = r.path.address();
      auto at = a.rfind('@');
      rcpt_domains.push_back(at == std::string::npos ? std::string() : smtp::ascii_lower(a.substr(at + 1)));
    }
    const std::string id = authserv_id();
    MessageVerdict v;
    try {
      v = co_await check_message(*ctx_.resolver, ctx_.check_caches, ctx_.cfg.checks, id, text, spf, rcpt_domains,
                                 ctx_.delivery_pool);
    } catch (const std::exception& e) {
      log::error(conn_.id(), "msg={} checks failed: {}", m.message_id, e.what());
      co_return Reply{};  // deliver unmarked rather than lose it
    }
    log::info(conn_.id(), "msg={} {} disposition={}{}", m.message_id, v.summary,
              v.disposition == Disposition::reject ? "reject" : v.disposition == Disposition::junk ? "junk" : "accept",
              v.rule.empty() ? "" : " rule=\"" + v.rule + "\"");
    if (v.disposition == Disposition::reject) co_return v.rejection;
    m.auth_results = v.header;
    m.junk_domains = v.junk_domains;
    int forged = 0;
    std::string cleaned = authres::remove_ours(text, id, &forged);
    if (forged) {
      log::info(conn_.id(), "msg={} removed {} Authentication-Results field(s) claiming {}", m.message_id, forged, id);
      m.body_override = std::move(cleaned);
    }
    co_return Reply{};
  }

  // The client's AUTH responses come through Input (it holds bytes pipelined after
  // earlier commands).
  class AuthIo final : public auth::LoginIo {
   public:
    AuthIo(net::Connection& c, Input& in) : c_(c), in_(in) {}
    asio::awaitable<net::LineRead> read_line(std::size_t max) override {
      co_return co_await in_.read_line(max);
    }
    asio::awaitable<bool> send_line(std::string line) override {
      line += "\r\n";
      c_.write(line);
      co_return co_await c_.flush();
    }

   private:
    net::Connection& c_;
    Input& in_;
  };

  // RFC 4954: the shared login driver with "334 " challenges; the answers come from the
  // one table of tern/auth/login_outcome.hpp.
  asio::awaitable<Action> auth_action(Action a) {
    static constexpr auth::LoginProtocol kSmtp{"smtp", "334 ", 12288};
    AuthIo io(conn_, in_);
    std::string mech = a.mechanism;
    std::optional<std::string> ir = a.initial;
    auth::LoginResult r = co_await auth::sasl_login(conn_, ctx_.auth, kSmtp, std::move(mech), std::move(ir), &io);
    if (r.outcome == auth::LoginOutcome::Closed) co_return Action{Action::Kind::Close};
    if (r.outcome == auth::LoginOutcome::Timeout) co_return session_.on_timeout();
    if (r.ok()) {
      AuthIdentity who{r.account->id, r.account->address, r.mechanism};
      log::info(conn_.id(), "AUTH {} ok user={}", r.mechanism, who.address);
      co_return session_.auth_done(who, Reply(235, esc::auth_ok, "Authentication successful"));
    }
    const auto& lr = auth::login_reply(r.outcome);
    Reply reply(lr.smtp_code, std::string(lr.smtp_esc), std::string(lr.text));
    log::info(conn_.id(), "AUTH {} failed: {} ({})", r.mechanism, reply.summary(), r.detail);
    co_return session_.auth_done(std::nullopt, reply);
  }

  std::filesystem::path spool_dir() const { return ctx_.cfg.data_dir / "spool"; }
  static constexpr std::size_t kSpoolMemory = 1 << 20;  // bodies above 1 MiB go to a file

  using Clock = std::chrono::steady_clock;

  // The record deadlines shorten the connection's timeout; replies after the data
  // (250, 421) get the command timeout again.
  struct RestoreTimeout {
    net::Connection& conn;
    Clock::duration d;
    ~RestoreTimeout() { conn.set_timeout(d); }
  };

  asio::awaitable<Action> data_action() {
    bool sent = co_await send_all();  // the 354
    if (!sent) co_return Action{Action::Kind::Close};
    const auto& lim = ctx_.cfg.limits;
    smtp::DataReader reader(smtp::DataMode::Dot, lim.message_size, lim.text_line);
    Spool spool(spool_dir(), kSpoolMemory);
    // Each line (or text_line octets) must arrive within data_timeout.
    RecordDeadline deadline(lim.data_timeout, lim.text_line, true, Clock::now());
    RestoreTimeout restore{conn_, lim.command_timeout};
    ReturnPathFilter return_path;
    std::string buf, out, filtered;
    while (!reader.done()) {
      buf.clear();
      conn_.set_timeout(deadline.remaining(Clock::now()));
      auto st = co_await in_.read_some(buf);
      if (st == ReadStatus::Timeout) {
        log_timeout(fmt::format("in DATA after {} octets", reader.size()));
        co_return session_.on_timeout();
      }
      if (st != ReadStatus::Ok) {
        log::info(conn_.id(), "connection lost in DATA after {} octets", reader.size());
        end_reason_ = "lost in DATA";
        co_return Action{Action::Kind::Close};
      }
      std::size_t n = reader.feed(buf, out);
      deadline.arrived(std::string_view(buf).substr(0, n), Clock::now());
      if (!out.empty()) {
        return_path.feed(out, filtered);
        spool.append(filtered);
        out.clear();
        filtered.clear();
      }
      if (reader.done() && n < buf.size()) in_.unread(std::string_view(buf).substr(n));
    }
    return_path.finish(filtered);
    spool.append(filtered);
    removed_return_paths_ = return_path.removed();
    received_fields_ = return_path.received();
    co_await finish_message(reader, spool);
    co_return Action{};
  }

  void drop_bdat() {
    bdat_reader_.reset();
    bdat_spool_.reset();
    bdat_return_path_.reset();
  }

  asio::awaitable<Action> bdat_action(Action a) {
    const auto& lim = ctx_.cfg.limits;
    if (!a.bdat_discard && !bdat_reader_) {
      bdat_reader_ = std::make_unique<smtp::DataReader>(smtp::DataMode::Raw, lim.message_size, lim.text_line);
      bdat_spool_ = std::make_unique<Spool>(spool_dir(), kSpoolMemory);
      bdat_return_path_ = std::make_unique<ReturnPathFilter>();
    }
    // The chunk's time scales with its size: each text_line octets within data_timeout.
    RecordDeadline deadline(lim.data_timeout, lim.text_line, false, Clock::now());
    RestoreTimeout restore{conn_, lim.command_timeout};
    std::uint64_t left = a.bdat_size;
    std::string buf, out, filtered;
    while (left > 0) {
      buf.clear();
      conn_.set_timeout(deadline.remaining(Clock::now()));
      auto st = co_await in_.read_some(buf);
      if (st == ReadStatus::Timeout) {
        log_timeout(fmt::format("in BDAT with {} of {} octets left", left, a.bdat_size));
        co_return session_.on_timeout();
      }
      if (st != ReadStatus::Ok) co_return Action{Action::Kind::Close};
      if (buf.size() > left) {
        // Pipelined commands after the chunk: framed later as commands.
        in_.unread(std::string_view(buf).substr(static_cast<std::size_t>(left)));
        buf.resize(static_cast<std::size_t>(left));
      }
      left -= buf.size();
      deadline.arrived(buf, Clock::now());
      if (a.bdat_discard) continue;
      bdat_reader_->feed(buf, out);
      if (!out.empty()) {
        bdat_return_path_->feed(out, filtered);
        bdat_spool_->append(filtered);
        out.clear();
        filtered.clear();
      }
    }
    if (a.bdat_discard) co_return Action{};
    if (!a.bdat_last) {
      session_.bdat_chunk_done(a.bdat_size);
      co_return Action{};
    }
    bdat_reader_->finish();
    bdat_return_path_->finish(filtered);
    bdat_spool_->append(filtered);
    removed_return_paths_ = bdat_return_path_->removed();
    received_fields_ = bdat_return_path_->received();
    co_await finish_message(*bdat_reader_, *bdat_spool_);
    drop_bdat();
    co_return Action{};
  }

  // End of a message: the decoder's verdict, then delivery; the reply goes to the session.
  asio::awaitable<void> finish_message(const smtp::DataReader& reader, Spool& spool) {
    const auto& tx = session_.transaction();
    MessageContext m;
    TERN_ASSERT(!tx_id_.empty());  // set when MAIL was accepted; DATA/BDAT need that
    m.message_id = tx_id_;
    m.session_id = conn_.id();
    m.hostname = ctx_.cfg.hostname;
    m.helo = session_.helo();
    m.peer_ip = conn_.peer_ip();
    m.protocol = session_.protocol_keyword();
    if (conn_.is_tls()) {
      auto ti = conn_.tls_info();
      m.tls = TlsFacts{ti.version, ti.cipher, ti.bits};
    }
    m.identity = session_.identity();
    m.sender = tx.sender;
    m.params = tx.params;
    m.recipients = tx.recipients;
    m.now = std::time(nullptr);
    Reply reply = reader.reject_reply();
    std::string detail;
    if (reply.empty() && !spool.finish()) {
      reply = Reply(451, esc::system_temp, "Local error writing the message, try again later");
      detail = "spool write failed";
    }
    if (reply.empty() && received_fields_ > kMaxReceivedFields) {
      // RFC 5321 §6.3: a message that has passed this many hops is going round in circles
      // (two forwarders pointing at each other across servers); the sender's MTA bounces it.
      reply = Reply(554, esc::routing_loop,
                    fmt::format("Too many hops ({} Received fields): mail forwarding loop", received_fields_));
      detail = "mail forwarding loop";
    }
    if (reply.empty()) {
      reply = co_await message_checks(m, spool);
      if (!reply.empty()) detail = "refused by the authentication checks";
    }
    if (reply.empty() && m.identity && ctx_.cfg.smtp.check_header_from) {
      // The submission's From: must be the user's (checks.hpp); a store error is a 451.
      const bool complete = spool.size() <= spool.head().size();
      try {
        reply = co_await conn_.run_blocking(
            [this, &m, &spool, &complete] { return check_header_from(ctx_.store, *m.identity, spool.head(), complete); });
      } catch (const std::exception& e) {
        log::error(conn_.id(), "header From check failed: {}", e.what());
        reply = Reply(451, esc::system_temp, "Temporary lookup failure, try again later");
      }
      if (!reply.empty()) detail = "header From not owned";
    }
    if (reply.empty() && m.identity) {
      // RFC 6409 §8.2/§8.3: a submission without Date or Message-ID gets them here,
      // before the queued copy is DKIM-signed.
      m.added_fields = missing_origination_fields(spool.head(), spool.size() <= spool.head().size(), m.now,
                                                  m.message_id, m.hostname);
    }
    if (reply.empty()) {
      DeliveryOutcome res;
      try {
        auto fn = [this, &m, &spool] { return deliver_message(ctx_.store, m, spool, {}); };
        if (ctx_.delivery_pool)
          res = co_await net::detail::run_on_pool<DeliveryOutcome>(*ctx_.delivery_pool,
                                                                   co_await asio::this_coro::executor, fn);
        else
          res = co_await conn_.run_blocking(fn);
      } catch (const std::exception& e) {
        res.reply = Reply(451, esc::system_temp, "Temporary local problem, try again later");
        res.detail = e.what();
      }
      reply = res.reply;
      detail = res.detail;
    } else {
      if (detail.empty()) detail = "refused by the body checks";
      // Record the refusal (batched with others by the recorder).
      for (const auto& r : m.recipients) {
        store::DeliveryEvent e;
        e.message_id = m.message_id;
        e.sender = m.sender.address();
        e.recipient = r.path.address();
        e.action = store::EventAction::rejected;
        e.detail = (detail == "refused by the authentication checks" ? "checks: " : "body: ") + reply.summary();
        record_event(std::move(e));
      }
    }
    std::string rcpts;
    for (const auto& r : m.recipients) rcpts += (rcpts.empty() ? "<" : ",<") + r.path.address() + ">";
    log::info(conn_.id(), "{}: msg={} from=<{}> to={} helo={} peer={} size={} proto={}{}{} outcome=\"{}\" {}", m.message_id,
              m.message_id, log::escape(m.sender.address()), log::escape(rcpts), log::escape(m.helo), m.peer_ip,
              reader.size(), m.protocol, m.identity ? " user=" + log::escape(m.identity->address) : std::string(),
              removed_return_paths_ ? " removed_return_path=" + std::to_string(removed_return_paths_) : std::string(),
              reply.summary(), detail);
    session_.message_done(reply);
    if (reply.code / 100 == 2) ++messages_;
    tx_id_.clear();
    removed_return_paths_ = 0;
    received_fields_ = 0;
  }

  // Refusal events go to the daemon's recorder (mta/event_recorder.hpp): batched into
  // one commit per second on its own thread, capped per client IP. Never a store write
  // here or on the blocking pool, which serves RCPT lookups and AUTH.
  void record_event(store::DeliveryEvent e) {
    if (ctx_.events) ctx_.events->record(conn_.peer_ip(), std::move(e));
  }

  net::Connection& conn_;
  MtaContext& ctx_;
  Input in_;
  SmtpSession session_;
  std::unique_ptr<smtp::DataReader> bdat_reader_;
  std::unique_ptr<Spool> bdat_spool_;
  std::unique_ptr<ReturnPathFilter> bdat_return_path_;
  unsigned removed_return_paths_ = 0;  // of the message being finished, for its log line
  unsigned received_fields_ = 0;       // its Received fields (the hop count)
  std::string tx_id_;                  // the current transaction's id (set at MAIL)
  bool quiet_after_auth_ = false;      // an AUTH was refused: don't log what follows
  unsigned messages_ = 0;              // accepted (250) in this session
  std::string end_reason_ = "quit";
  std::optional<SpfCheck> spf_;  // of the current transaction (MAIL FROM)
};

}  // namespace

asio::awaitable<void> serve_smtp(net::Connection& conn, MtaContext& ctx, ListenerSetup setup) {
  Driver d(conn, ctx, setup);
  co_await d.run();
}

}  // namespace tern::mta
