#include "tern/log/assert.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <typeinfo>
#include <variant>

namespace tern::log {

void assert_failed(const char* expr, const char* file, int line) noexcept {
  // stdio, not spdlog: the logger may be what is broken; stderr is unbuffered.
  std::fprintf(stderr, "tern: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

void internal_error(const char* where, const char* what) noexcept {
  std::fprintf(stderr, "tern: internal error in %s: %s\n", where, what);
  std::abort();
}

bool is_internal_error(const std::exception& e) noexcept {
  return dynamic_cast<const std::logic_error*>(&e) != nullptr ||
         dynamic_cast<const std::bad_optional_access*>(&e) != nullptr ||
         dynamic_cast<const std::bad_variant_access*>(&e) != nullptr ||
         dynamic_cast<const std::bad_function_call*>(&e) != nullptr ||
         dynamic_cast<const std::bad_cast*>(&e) != nullptr;
}

}  // namespace tern::log
