// Coroutine patterns tern uses freely, checked under ASan with the same GCC, next to
// the rules' reproducers (tests/coro/rule_*.cpp). Known GCC coroutine bugs of the
// same families (temporaries kept across a suspension, GCC PR 95599; co_await in
// initializer lists; lambda-coroutine captures, asio #858/#1027) do not hit these
// shapes on this toolchain; if one ever does, it becomes a rule in tern/net/asio.hpp.
#include <tuple>
#include <vector>

#include "coro_harness.hpp"

using namespace coro_test;

namespace {

// (a) A temporary bound to a const& parameter of the awaited coroutine: it must live
// until the awaited coroutine finishes (GCC PR 95599, fixed before GCC 12).
asio::awaitable<std::size_t> by_ref(const std::string& s) {
  co_await yield_now();
  co_return s.size();
}

// (e) A tuple of non-trivial members, destructured with a structured binding.
asio::awaitable<std::tuple<int, std::string>> tuple_result(std::string s) {
  co_await yield_now();
  co_return std::tuple<int, std::string>{static_cast<int>(s.size()), s};
}

// (c) co_spawn of a capturing lambda coroutine is NOT here: it double-frees the capture
// (asio #858 family) even named and moved; tern co_spawns named coroutine functions only.

asio::awaitable<void> body(asio::thread_pool& pool) {
  const std::string s = heap_string("value");
  for (int i = 0; i < 100; ++i) {
    std::size_t a = co_await by_ref(s + heap_string("tmp"));
    if (a != s.size() + heap_string("tmp").size()) fail("(a) const& temporary");

    // (b) co_await inside a braced initializer list: broken, see rule_braced_init.cpp.

    // (d) co_await as the condition of a switch (no co_return in its cases).
    int hits = 0;
    switch (co_await later(i % 3)) {
      case 0: hits = 10; break;
      case 1: hits = 11; break;
      default: hits = 12; break;
    }
    if (hits != 10 + i % 3) fail("(d) switch on co_await");

    auto [n, text] = co_await tuple_result(s);
    if (n != static_cast<int>(s.size()) || text != s) fail("(e) structured binding");

    // (f) run_blocking with a value-returning callable capturing references only,
    // returning a non-trivial value (what every store call does).
    std::string got = co_await run_blocking(pool, [&s] { return s + "!"; });
    if (got != s + "!") fail("(f) run_blocking string result");

    // (g) A co_await as an argument of an awaited call (mta finish_message's delivery).
    auto fn = [&s] { return s.size(); };
    std::size_t g = co_await tern::net::detail::run_on_pool<std::size_t>(pool, co_await asio::this_coro::executor, fn);
    if (g != s.size()) fail("(g) nested co_await argument");
  }
}

}  // namespace

int main() { return run("patterns_in_use", body); }
