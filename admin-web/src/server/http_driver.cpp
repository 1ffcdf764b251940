// serve_http(): Beast parses (header/body limits, chunked bodies, pipelining leftovers);
// this file only moves bytes between the Connection and the parser and writes the
// Response. Security headers and everything else are the App's (pure code).
#include "http_driver.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cctype>
#include <ctime>

#include "tern/auth/login_exchange.hpp"
#include "tern/dns/plan_check.hpp"
#include "tern/log/log.hpp"

namespace tern::web {

namespace http = boost::beast::http;

namespace {

std::string http_date() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

bool header_safe(std::string_view v) {
  for (unsigned char c : v)
    if (c == '\r' || c == '\n' || c == 0) return false;
  return true;
}

std::string serialize(const Response& r, bool keep_alive, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(status_reason(r.status)) + "\r\n";
  for (auto& h : r.headers) {
    if (!header_safe(h.name) || !header_safe(h.value)) continue;  // never split a response
    out += h.name + ": " + h.value + "\r\n";
  }
  out += "date: " + http_date() + "\r\n";
  out += "server: tern-web\r\n";
  if (r.status != 204 && r.status != 304) out += "content-length: " + std::to_string(r.body.size()) + "\r\n";
  out += keep_alive ? "connection: keep-alive\r\n" : "connection: close\r\n";
  out += "\r\n";
  if (!head) out += r.body;
  return out;
}

Response plain_error(int status, std::string_view text) {
  Response r;
  r.status = status;
  r.set("content-type", "text/plain; charset=utf-8");
  r.body = std::string(text) + "\n";
  return r;
}

Request to_request(const http::request<http::string_body>& m, const net::Connection& conn) {
  Request req;
  req.method = std::string(m.method_string());
  req.target = std::string(m.target());
  auto [p, q] = split_target(req.target);
  req.path = std::move(p);
  req.query = std::move(q);
  for (auto& f : m) {
    std::string name(f.name_string());
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    req.headers.push_back({std::move(name), std::string(f.value())});
  }
  req.body = m.body();
  req.peer_ip = conn.peer_ip();
  req.tls = conn.is_tls();
  return req;
}

}  // namespace

asio::awaitable<void> serve_http(net::Connection& conn, App& app, auth::Authenticator& auth, HttpLimits limits,
                                 dns::Resolver* resolver) {
  app.metrics().connections++;
  struct Guard {
    App& a;
    ~Guard() { a.metrics().connections--; }
  } guard{app};
  std::string buf;  // bytes read and not yet given to a parser (pipelining)
  for (unsigned n = 0; n < limits.max_requests && !conn.stopping(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    parser.eager(true);
    bool sent_continue = false;
    int error_status = 0;
    conn.set_timeout(n == 0 ? limits.request : limits.idle);
    while (!parser.is_done()) {
      if (buf.empty()) {
        net::ReadStatus st = co_await conn.read_some(buf);
        if (st != net::ReadStatus::Ok) co_return;  // closed, timed out or broken: nothing to answer
        conn.set_timeout(limits.request);
      }
      boost::system::error_code ec;
      std::size_t used = parser.put(asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec == http::error::need_more) {
        if (used == 0 && !buf.empty()) {
          // The parser wants more before it can consume what is buffered.
          std::string more;
          net::ReadStatus st = co_await conn.read_some(more);
          if (st != net::ReadStatus::Ok) co_return;
          buf += more;
        }
      } else if (ec == http::error::header_limit) {
        error_status = 431;
        break;
      } else if (ec == http::error::body_limit) {
        error_status = 413;
        break;
      } else if (ec) {
        error_status = 400;
        break;
      }
      // RFC 9110 10.1.1: answer "100 Continue" once the header is in and acceptable.
      if (!error_status && parser.is_header_done() && !parser.is_done() && !sent_continue) {
        auto& h = parser.get();
        auto expect = h[http::field::expect];
        if (expect.size() == 12 && boost::beast::iequals(expect, "100-continue")) {
          if (parser.content_length() && *parser.content_length() > limits.body_limit) {
            error_status = 413;
            break;
          }
          conn.write("HTTP/1.1 100 Continue\r\n\r\n");
          bool sent = co_await conn.flush();
          if (!sent) co_return;
        }
        sent_continue = true;
      }
    }
    if (error_status) {
      if (error_status != 400) app.metrics().too_large++;
      conn.write(serialize(plain_error(error_status, status_reason(error_status)), false, false));
      co_await conn.flush();
      co_return;  // the rest of the stream cannot be trusted to be framed
    }
    auto& msg = parser.get();
    bool keep = msg.keep_alive() && !conn.stopping();
    Request req = to_request(msg, conn);
    // A login: the mail daemons' exchange verifies it (throttle, delay, failure time).
    std::optional<LoginVerdict> verdict;
    if (auto li = app.login_input(req)) {
      auth::LoginResult lr = co_await auth::password_login(conn, auth, li->login, li->password);
      verdict.emplace();
      verdict->outcome = lr.outcome;
      verdict->account = std::move(lr.account);
      if (lr.outcome == auth::LoginOutcome::Closed) co_return;
    }
    App* appp = &app;
    Request* reqp = &req;
    // The DNS page: the App names the records (store work, on the pool), the shared
    // resolver looks them up here without blocking this thread, the App renders them.
    std::optional<DnsLive> live;
    if (resolver && App::wants_dns(req)) {
      auto dns_fn = [appp, reqp] { return appp->dns_job(*reqp); };
      std::optional<App::DnsJob> dj = co_await conn.run_blocking(std::move(dns_fn));
      if (dj) {
        auto check = dns::check_plan(*resolver, std::move(dj->records), dj->domain, dj->host);
        dns::PlanCheck pc = co_await std::move(check);
        live.emplace();
        live->records = std::move(pc.records);
        live->nameservers = std::move(pc.nameservers);
        live->nameservers_known = pc.nameservers_known;
      }
    }
    const LoginVerdict* vp = verdict ? &*verdict : nullptr;
    const DnsLive* lp = live ? &*live : nullptr;
    auto job = [appp, reqp, vp, lp] { return appp->handle(*reqp, vp, lp); };
    Response res = co_await conn.run_blocking(std::move(job));
    conn.write(serialize(res, keep, req.method == "HEAD"));
    bool sent = co_await conn.flush();
    if (!sent) co_return;
    if (!keep) co_return;
  }
}

}  // namespace tern::web
