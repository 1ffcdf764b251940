// Rule 2 (tern/net/asio.hpp): a lambda or braced aggregate with non-trivial members
// (std::string, ...) created as a prvalue ARGUMENT inside a co_await expression.
// The rule says GCC 12 destroys it twice ("attempting double-free"); the remedy is a
// named local passed with std::move, or captures of pointers/references only.
// Also checked, as the rule states it is fine: a std::string prvalue argument
// (`take(a + b)`) and a lambda capturing only `this`/references.
#include <vector>

#include "coro_harness.hpp"

using namespace coro_test;

namespace {

struct Job {
  std::string name;
  std::string body;
};

asio::awaitable<std::size_t> take(Job j) {
  co_await yield_now();
  co_return j.name.size() + j.body.size();
}

asio::awaitable<std::size_t> take_string(std::string s) {
  co_await yield_now();
  co_return s.size();
}

asio::awaitable<void> body(asio::thread_pool& pool) {
  const std::string name = heap_string("name");
  const std::string text = heap_string("body");
  const std::size_t want = name.size() + text.size();
  for (int i = 0; i < 100; ++i) {
#ifdef TERN_CORO_BROKEN
    // Lambda with a by-value std::string capture, a prvalue argument of run_blocking.
    std::size_t a = co_await run_blocking(pool, [name, text] { return name.size() + text.size(); });
    // A braced aggregate prvalue argument.
    std::size_t b = co_await take(Job{name, text});
#else
    auto job = [name, text] { return name.size() + text.size(); };
    std::size_t a = co_await run_blocking(pool, std::move(job));
    Job j{name, text};
    std::size_t b = co_await take(std::move(j));
#endif
    if (a != want) fail("run_blocking result");
    if (b != want) fail("take(Job) result");
    // Said to be fine either way: a std::string prvalue, and reference captures.
    std::size_t c = co_await take_string(name + text);
    if (c != want) fail("take_string result");
    std::size_t d = co_await run_blocking(pool, [&name, &text] { return name.size() + text.size(); });
    if (d != want) fail("reference-capture result");
  }
}

}  // namespace

int main() { return run("rule_prvalue_argument", body); }
