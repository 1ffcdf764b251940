// Rule 3 (tern/net/asio.hpp): no co_await in the condition of an if (or while):
// `if (!co_await flush()) co_return false;` — with or without braces — corrupts the
// coroutine frame under GCC 12.2 (ASan -O2: SEGV in awaitable_frame_base::await_transform
// on the next co_await). Awaiting into a named local first is fine.
#include "coro_harness.hpp"

using namespace coro_test;

namespace {

asio::awaitable<bool> flush(bool ok) {
  co_await yield_now();
  co_return ok;
}

#ifdef TERN_CORO_BROKEN
asio::awaitable<bool> send(bool ok) {
  if (!co_await flush(ok)) co_return false;
  co_return true;
}
asio::awaitable<void> greet(bool ok, int& sent) {
  if (!co_await flush(ok)) {
    co_return;
  }
  ++sent;
}
#else
asio::awaitable<bool> send(bool ok) {
  bool sent = co_await flush(ok);
  if (!sent) co_return false;
  co_return true;
}
asio::awaitable<void> greet(bool ok, int& sent) {
  bool flushed = co_await flush(ok);
  if (!flushed) co_return;
  ++sent;
}
#endif

asio::awaitable<void> body(asio::thread_pool&) {
  int sent = 0, want = 0;
  for (int i = 0; i < 100; ++i) {
    const bool ok = i % 3 != 0;
    bool r = co_await send(ok);
    if (r != ok) fail("send()");
    co_await greet(ok, sent);
    want += ok ? 1 : 0;
  }
  if (sent != want) fail("greet()");
}

}  // namespace

int main() { return run("rule_await_condition", body); }
