#pragma once
// The one Asio prelude of tern: every Asio user includes this header, never
// <boost/asio...> directly. Asio and its SSL support are compiled once, in
// common/src/net/asio_impl.cpp (tern_net defines BOOST_ASIO_SEPARATE_COMPILATION),
// so including this costs parsing only.
//
// Gives: `asio` = boost::asio (global alias), awaitables, ssl, the awaitable
// operators (`a || b`, `a && b`; bring them in with
// `using namespace asio::experimental::awaitable_operators;` inside a .cpp) and
// `asio::as_tuple`. Pure code (parsers, tern_common) must never include this.
//
// GCC 12 pitfall (seen here: SIGILL on resume): never put co_await inside a
// short-circuit operand (`if (x && !co_await f())`) or a ?: branch. Write
// `bool ok = co_await f();` on its own line first.
//
// GCC 12 pitfall 2 (reproduced with ASan: "attempting double-free"): a lambda or a
// braced aggregate with non-trivial members (std::string, ...) created as a prvalue
// ARGUMENT inside a co_await expression is destroyed twice:
//   co_await conn.run_blocking([s] { ... });      // s is a std::string: BROKEN
//   co_await take(Job{name, body});               // same bug
// A std::string prvalue (`take(a + b)`) was fine. Bind the object to a named local
// first and pass it with std::move, or capture only pointers/references to locals of
// the awaiting coroutine (they outlive the co_await):
//   auto job = [s] { ... };
//   co_await conn.run_blocking(std::move(job));    // fine
// Also: a switch whose cases co_return inside a coroutine crashed with SIGILL; use
// if/else chains in coroutines.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

namespace asio = boost::asio;
