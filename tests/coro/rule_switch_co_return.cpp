// Rule 3 (tern/net/asio.hpp): "a switch whose cases co_return inside a coroutine
// crashed with SIGILL; use if/else chains in coroutines".
// The broken shape is the one of ConnectionImpl::read_line and the SMTP driver's
// Input::read_line: a loop, a switch over a framer's status whose cases co_return an
// aggregate built from std::move(result.text), a co_await after the switch.
#include <deque>

#include "coro_harness.hpp"
#include "tern/util/line_framer.hpp"

using namespace coro_test;
using tern::util::LineFramer;
using tern::util::LineStatus;

namespace {

enum class Status { Ok, TooLong, BareLf, BareCr, Eof };

struct LineRead {
  Status status = Status::Eof;
  std::string line;
};

struct Reader {
  LineFramer framer{64};
  std::deque<std::string> chunks;

  asio::awaitable<bool> fill() {
    co_await yield_now();
    if (chunks.empty()) co_return false;
    framer.feed(chunks.front());
    chunks.pop_front();
    co_return true;
  }

#ifdef TERN_CORO_BROKEN
  asio::awaitable<LineRead> read_line() {
    for (;;) {
      auto r = framer.next();
      switch (r.status) {
        case LineStatus::Line: co_return LineRead{Status::Ok, std::move(r.text)};
        case LineStatus::TooLong: co_return LineRead{Status::TooLong, {}};
        case LineStatus::BareLf: co_return LineRead{Status::BareLf, std::move(r.text)};
        case LineStatus::BareCr: co_return LineRead{Status::BareCr, std::move(r.text)};
        case LineStatus::NeedMore: break;
      }
      bool more = co_await fill();
      if (!more) co_return LineRead{Status::Eof, {}};
    }
  }
#else
  asio::awaitable<LineRead> read_line() {
    for (;;) {
      auto r = framer.next();
      if (r.status == LineStatus::Line) co_return LineRead{Status::Ok, std::move(r.text)};
      if (r.status == LineStatus::TooLong) co_return LineRead{Status::TooLong, {}};
      if (r.status == LineStatus::BareLf) co_return LineRead{Status::BareLf, std::move(r.text)};
      if (r.status == LineStatus::BareCr) co_return LineRead{Status::BareCr, std::move(r.text)};
      bool more = co_await fill();
      if (!more) co_return LineRead{Status::Eof, {}};
    }
  }
#endif
};

#ifdef TERN_CORO_FALL_OFF
// Not the switch: a non-void coroutine whose control flow can reach its end without a
// co_return (here a case that breaks). That is undefined behaviour, which GCC 12 neither
// diagnoses (no -Wreturn-type for coroutines) nor survives: the frame resumes into a trap
// (ud2, SIGILL). Built only to document that cause; see tern/net/asio.hpp.
enum class Kind { A, B, C };
asio::awaitable<int> classify(Kind k) {
  co_await yield_now();
  switch (k) {
    case Kind::A: co_return 1;
    case Kind::B: co_return 2;
    case Kind::C: break;  // forgot the co_return
  }
}
#endif

#ifdef TERN_CORO_POP3_2025
// The shape tern-pop3d's Driver::perform had when the SIGILL was seen (before commit
// 42e7746, which changed three things at once): a switch whose cases co_return, one case
// awaiting twice in a short-circuit condition, one passing moved strings to a coroutine.
enum class Kind { None, Close, StartTls, Login };
struct Pop3Like {
  std::string out, user = heap_string("user"), password = heap_string("password");
  bool close = false;
  int logins = 0;
  asio::awaitable<bool> flush() {
    co_await yield_now();
    out.clear();
    co_return true;
  }
  asio::awaitable<bool> start_tls() { co_return co_await later(true); }
  asio::awaitable<void> do_login(std::string u, std::string p) {
    co_await yield_now();
    if (u.size() + p.size() > 0) ++logins;
  }
  asio::awaitable<void> perform(Kind k) {
    switch (k) {
      case Kind::None:
        co_return;
      case Kind::Close:
        close = true;
        co_return;
      case Kind::StartTls: {
        out = heap_string("+OK");
        if (!co_await flush() || !co_await start_tls()) {
          close = true;
          co_return;
        }
        co_return;
      }
      case Kind::Login:
        co_await do_login(std::move(user), std::move(password));
        user = heap_string("user");
        password = heap_string("password");
        co_return;
    }
  }
};
#endif

asio::awaitable<void> body(asio::thread_pool&) {
#ifdef TERN_CORO_POP3_2025
  for (int i = 0; i < 100; ++i) {
    Pop3Like p;
    co_await p.perform(Kind::None);
    co_await p.perform(Kind::StartTls);
    co_await p.perform(Kind::Login);
    co_await p.perform(Kind::Close);
    if (!p.close || p.logins != 1) fail("pop3-like perform");
  }
#endif
#ifdef TERN_CORO_FALL_OFF
  int a = co_await classify(Kind::A);
  int c = co_await classify(Kind::C);
  if (a + c == 0) fail("unreachable");
#endif
  const std::string long_line = heap_string("line");  // 52 octets: under the 64 limit
  for (int i = 0; i < 100; ++i) {
    Reader rd;
    // Split across chunks so the loop suspends mid-line; each status once.
    rd.chunks = {long_line.substr(0, 10), long_line.substr(10) + "\r\n",
                 "bare\n", "cr\rinside\r\n", std::string(100, 'x') + "\r\n", "last\r\n"};
    LineRead a = co_await rd.read_line();
    if (a.status != Status::Ok || a.line != long_line) fail("line 1");
    LineRead b = co_await rd.read_line();
    if (b.status != Status::BareLf || b.line != "bare") fail("bare LF");
    LineRead c = co_await rd.read_line();
    if (c.status != Status::BareCr) fail("bare CR");
    LineRead d = co_await rd.read_line();
    if (d.status != Status::TooLong) fail("too long");
    LineRead e = co_await rd.read_line();
    if (e.status != Status::Ok || e.line != "last") fail("last line");
    LineRead f = co_await rd.read_line();
    if (f.status != Status::Eof) fail("eof");
  }
}

}  // namespace

int main() { return run("rule_switch_co_return", body); }
