#pragma once
// Harness of the GCC 12 coroutine reproducers (tests/coro/rule_*.cpp, see the rules in
// common/include/tern/net/asio.hpp). Each reproducer is one small program built with
// -fsanitize=address: by default it runs the pattern the rule prescribes (must print
// "ok" and exit 0); built with -DTERN_CORO_BROKEN it runs the pattern the rule forbids,
// so tests/coro/expect_broken.py can check whether the compiler still miscompiles it.
//
// Every awaited step really suspends (a post to the executor, or a hop to a thread
// pool and back, as Connection::run_blocking does): a coroutine that completes
// synchronously would not exercise the frame layout the bugs are about.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "tern/net/asio.hpp"
#include "tern/net/connection.hpp"  // (with tern/net/impl/connection_run_blocking.hpp)

namespace coro_test {

// Suspend, and resume from the io_context's queue.
inline asio::awaitable<void> yield_now() {
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, asio::use_awaitable);
}

// A value after a real suspension.
template <class T>
asio::awaitable<T> later(T v) {
  co_await yield_now();
  co_return v;
}

// The shape of Connection::run_blocking: a coroutine template that takes the callable
// by value and awaits tern's own pool hop (detail::run_on_pool).
template <class F>
asio::awaitable<decltype(std::declval<F&>()())> run_blocking(asio::thread_pool& pool, F f) {
  using R = decltype(f());
  auto ex = co_await asio::this_coro::executor;
  co_return co_await tern::net::detail::run_on_pool<R>(pool, ex, std::move(f));
}

// A string long enough to live on the heap (no small-string buffer), so that a
// destructor run twice is a double free ASan reports.
inline std::string heap_string(const char* tag) {
  return std::string(tag) + std::string(48, '.');
}

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "coro reproducer: wrong result: %s\n", what);
  std::exit(1);
}

// Runs body() to completion on one io_context thread (plus `pool` for blocking hops);
// an exception escaping it fails the program.
template <class Body>
int run(const char* name, Body body) {
  asio::io_context io(1);
  asio::thread_pool pool(2);
  std::exception_ptr err;
  bool done = false;
  asio::co_spawn(io, body(pool), [&](std::exception_ptr e) {
    err = e;
    done = true;
  });
  io.run();
  pool.join();
  if (err) {
    try {
      std::rethrow_exception(err);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: exception: %s\n", name, e.what());
    }
    return 1;
  }
  if (!done) {
    std::fprintf(stderr, "%s: the coroutine never completed\n", name);
    return 1;
  }
#ifdef TERN_CORO_BROKEN
  std::printf("%s: broken pattern ran clean (not reproduced)\n", name);
#else
  std::printf("%s: ok\n", name);
#endif
  return 0;
}

}  // namespace coro_test
