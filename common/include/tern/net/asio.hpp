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
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

namespace asio = boost::asio;
