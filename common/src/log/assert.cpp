#include "tern/log/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace tern::log {

void assert_failed(const char* expr, const char* file, int line) noexcept {
  // stdio, not spdlog: the logger may be what is broken; stderr is unbuffered.
  std::fprintf(stderr, "tern: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace tern::log
