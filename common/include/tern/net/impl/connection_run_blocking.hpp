#pragma once
// Implementation of Connection::run_blocking (included at the end of connection.hpp).
//
// How: async_initiate posts f to the server's blocking thread_pool; the pool thread
// runs f, catches any exception, and posts the completion back to the connection's
// executor, so the coroutine resumes on its own io_context thread. A tracked-work
// executor keeps that io_context from running out of work while f runs.
// The completion signature carries an exception_ptr first, which use_awaitable
// rethrows in the awaiting coroutine.
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace tern::net::detail {

// Runs f() on `pool`, resumes on `ex`. R = decltype(f()); void allowed, references not.
template <class R, class F>
asio::awaitable<R> run_on_pool(asio::thread_pool& pool, asio::any_io_executor ex, F f) {
  static_assert(!std::is_reference_v<R>, "run_blocking: return a value, not a reference");
  auto work = asio::prefer(ex, asio::execution::outstanding_work.tracked);
  if constexpr (std::is_void_v<R>) {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
        [&pool](auto handler, decltype(work) back, F fn) {
          asio::post(pool, [handler = std::move(handler), back = std::move(back),
                            fn = std::move(fn)]() mutable {
            std::exception_ptr ep;
            try {
              fn();
            } catch (...) {
              ep = std::current_exception();
            }
            asio::post(back, [handler = std::move(handler), ep]() mutable {
              std::move(handler)(ep);
            });
          });
        },
        asio::use_awaitable, std::move(work), std::move(f));
    co_return;
  } else {
    using Opt = std::optional<R>;
    Opt result = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                               void(std::exception_ptr, Opt)>(
        [&pool](auto handler, decltype(work) back, F fn) {
          asio::post(pool, [handler = std::move(handler), back = std::move(back),
                            fn = std::move(fn)]() mutable {
            std::exception_ptr ep;
            Opt value;
            try {
              value.emplace(fn());
            } catch (...) {
              ep = std::current_exception();
            }
            asio::post(back, [handler = std::move(handler), ep,
                              value = std::move(value)]() mutable {
              std::move(handler)(ep, std::move(value));
            });
          });
        },
        asio::use_awaitable, std::move(work), std::move(f));
    co_return std::move(*result);
  }
}

}  // namespace tern::net::detail

namespace tern::net {

template <class F>
auto Connection::run_blocking(F f) -> asio::awaitable<decltype(f())> {
  using R = decltype(f());
  // The GCC 12 rules of tern/net/asio.hpp the compiler can check here:
  static_assert(!std::is_reference_v<R>,
                "run_blocking: the callable must return by value (a reference would dangle "
                "once the pool thread is done)");
  static_assert(std::is_trivially_destructible_v<F>,
                "run_blocking: capture only pointers, references and plain values (rule 2 of "
                "tern/net/asio.hpp: GCC 12 destroys a callable with a std::string/vector/... "
                "capture twice when it is a prvalue in a co_await expression)");
  // executor()/blocking_pool() are read before the first suspension, on our thread.
  co_return co_await detail::run_on_pool<R>(blocking_pool(), executor(), std::move(f));
}

}  // namespace tern::net
