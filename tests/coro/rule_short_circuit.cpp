// Rule 1 (tern/net/asio.hpp): no &&, || or ?: in a full-expression that contains a
// co_await; await into a named local on its own line first.
// Reproduced (GCC 12.2, -O2, ASan): the && / || shapes die by SIGILL (the resumed frame
// runs into ud2); the ?: producing a std::string argument of an awaited call gets
// "attempting free on address which was not malloc()-ed" (a frame address).
// The broken shapes are the ones the rule was written after: ConnectionImpl::start_tls
// once read `if (!out_.empty() && !co_await flush()) co_return false;`.
#include "coro_harness.hpp"

using namespace coro_test;

namespace {

struct Conn {
  std::string out;
  bool flush_ok = true;
  int flushes = 0;

  asio::awaitable<bool> flush() {
    co_await yield_now();
    ++flushes;
    out.clear();
    co_return flush_ok;
  }

#ifdef TERN_CORO_BROKEN
  asio::awaitable<bool> start(std::string note) {
    if (!out.empty() && !co_await flush()) co_return false;
    co_return !note.empty();
  }
  asio::awaitable<int> pick(bool cond, std::string note) {
    int v = cond ? co_await later(static_cast<int>(note.size())) : -1;
    co_return v;
  }
  asio::awaitable<bool> either(std::string s) {
    if (s.empty() || co_await later(s + heap_string("suffix")) == heap_string("x")) co_return true;
    co_return false;
  }
  // Two awaits in one condition, as tern-pop3d's STLS once had
  // (`if (!co_await c_.flush() || !co_await c_.start_tls())`).
  asio::awaitable<bool> both() {
    if (!co_await flush() || !co_await later(flush_ok)) co_return false;
    co_return true;
  }
#else
  asio::awaitable<bool> both() {
    bool ok = co_await flush();
    if (ok) ok = co_await later(flush_ok);
    co_return ok;
  }
  asio::awaitable<bool> start(std::string note) {
    if (!out.empty()) {
      bool sent = co_await flush();
      if (!sent) co_return false;
    }
    co_return !note.empty();
  }
  asio::awaitable<int> pick(bool cond, std::string note) {
    int v = -1;
    if (cond) v = co_await later(static_cast<int>(note.size()));
    co_return v;
  }
  asio::awaitable<bool> either(std::string s) {
    if (s.empty()) co_return true;
    std::string got = co_await later(s + heap_string("suffix"));
    co_return got == heap_string("x");
  }
#endif
};

asio::awaitable<void> body(asio::thread_pool&) {
  for (int i = 0; i < 200; ++i) {
    Conn c;
    const std::string note = heap_string("note");
    c.out = (i % 2) ? heap_string("queued") : std::string();
    c.flush_ok = (i % 3) != 0;
    const bool had_output = !c.out.empty();
    bool r = co_await c.start(note);
    const bool want = !had_output || c.flush_ok;
    if (r != want) fail("start()");
    int v = co_await c.pick(i % 2 == 0, note);
    if (v != ((i % 2 == 0) ? static_cast<int>(note.size()) : -1)) fail("pick()");
#ifdef TERN_CORO_BROKEN
    bool e = co_await c.either((i % 4) ? heap_string("s") : std::string());
#else
    std::string arg = (i % 4) ? heap_string("s") : std::string();
    bool e = co_await c.either(std::move(arg));
#endif
    if (e != ((i % 4) == 0)) fail("either()");
    bool b = co_await c.both();
    if (b != c.flush_ok) fail("both()");
  }
}

}  // namespace

int main() { return run("rule_short_circuit", body); }
