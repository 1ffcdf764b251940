#pragma once
// TERN_ASSERT(cond): an invariant of tern itself. Stays on in release builds (unlike
// assert()): a broken invariant is a bug, so the daemon writes
// "tern: assertion failed: <cond> at <file>:<line>" to stderr and aborts; the supervisor
// restarts it. Never for peer errors (those are replies) or the environment (disk
// full, a missing file: those are error returns).
namespace tern::log {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}  // namespace tern::log

#define TERN_ASSERT(cond) ((cond) ? static_cast<void>(0) : ::tern::log::assert_failed(#cond, __FILE__, __LINE__))
