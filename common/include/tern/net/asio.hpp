#pragma once
// The one Asio prelude of tern: every Asio user includes this header, never
// <boost/asio...> directly. Asio and its SSL support are compiled once, in
// common/src/net/asio_impl.cpp (tern_net defines BOOST_ASIO_SEPARATE_COMPILATION),
// so including this costs parsing only. Gives `asio` = boost::asio, awaitables, ssl,
// the awaitable operators (`a || b`, `a && b` of awaitables: fine; bring them in with
// `using namespace asio::experimental::awaitable_operators;` in a .cpp), as_tuple.
// Pure code (parsers, tern_common) must never include this.
//
// GCC 12.2 coroutine rules: each reproduced on this toolchain under ASan by
// tests/coro/ (ctest -R coro; evidence in tests/coro/README.md). In a coroutine:
// 1. No &&, || or ?: in a full-expression that contains a co_await:
//    `if (x && !co_await f())` resumes into ud2 (SIGILL); `co_await g(c ? s1 : s2)`
//    with std::string branches frees a frame address (ASan "bad-free").
// 2. No lambda or braced aggregate with non-trivial members (std::string...) as a
//    prvalue argument in a co_await expression: `co_await run_blocking([s] {...})`,
//    `co_await take(Job{a, b})` destroy it twice (ASan "double-free"). Name it and
//    std::move it; run_blocking static_asserts trivially destructible callables.
// 3. No co_await in an if/while condition: `if (!co_await flush())` (braced or not)
//    corrupts the frame (ASan SEGV in await_transform). `bool ok = co_await
//    flush(); if (!ok) ...` is fine.
// 4. No co_await inside a braced initializer: `Pair p{co_await a(), ...}` reads a
//    freed string (ASan heap-use-after-free); await into named locals first.
// Dropped after testing: "no switch whose cases co_return" did not reproduce (the
// SIGILL tern-pop3d once had came from rule 1 inside that switch). Not affected:
// std::string prvalue arguments (`take(a + b)`), `const&` temporaries, structured
// bindings of co_await results. Never co_spawn a capturing lambda (double-free).
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

namespace asio = boost::asio;
