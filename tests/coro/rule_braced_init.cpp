// Rule 4 (tern/net/asio.hpp): no co_await inside a braced initializer of an aggregate:
// `Pair p{co_await a(), co_await b()};` (one co_await element is enough) leaves a
// member reading freed memory under GCC 12.2 (ASan -O2: heap-use-after-free). Awaiting
// into named locals first is fine (so is a constructor call, std::tuple<...>{...}).
#include <tuple>

#include "coro_harness.hpp"

using namespace coro_test;

namespace {

struct Pair {
  std::string a;
  std::string b;
};

asio::awaitable<void> body(asio::thread_pool&) {
  const std::string s = heap_string("first");
  for (int i = 0; i < 100; ++i) {
#ifdef TERN_CORO_BROKEN
    Pair p{co_await later(s), co_await later(heap_string("second"))};
#else
    std::string a = co_await later(s);
    std::string b = co_await later(heap_string("second"));
    Pair p{std::move(a), std::move(b)};
#endif
    if (p.a != s || p.b != heap_string("second")) fail("Pair");
    std::tuple<std::string> t{co_await later(s)};
    if (std::get<0>(t) != s) fail("tuple");
  }
}

}  // namespace

int main() { return run("rule_braced_init", body); }
