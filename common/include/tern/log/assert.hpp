#pragma once
// TERN_ASSERT(cond): an invariant of tern itself. Stays on in release builds (unlike
// assert()): a broken invariant is a bug, so the daemon writes
// "tern: assertion failed: <cond> at <file>:<line>" to stderr and aborts; the supervisor
// restarts it. Never for peer errors (those are replies) or the environment (disk
// full, a missing file: those are error returns).
//
// Where tern guards its invariants with it: the session state machines' enter_state()
// transition tables and the order of their driver callbacks (SMTP mta/smtp_server/
// session.cpp, POP3 common/src/pop3/session.cpp), the store's transactions (used after
// commit/abort, a write transaction on another thread: store/src/lmdb/lmdb_env.cpp),
// the line framer's and the DATA decoder's bounds (common/src/util/line_framer.cpp,
// common/src/smtp/data_reader.cpp), and Connection::run_blocking's result type.
#include <exception>

namespace tern::log {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
// An internal error caught as an exception (a std::logic_error escaping a session: a
// broken precondition, a bad index): "tern: internal error in <where>: <what>" on
// stderr, then abort, as a failed TERN_ASSERT.
[[noreturn]] void internal_error(const char* where, const char* what) noexcept;
// Whether an exception can only come from a bug in tern: std::logic_error and its kin
// (out_of_range, invalid_argument, length_error, ...), std::bad_optional_access,
// std::bad_variant_access, std::bad_function_call, std::bad_cast. Not bad_alloc,
// system_error or runtime_error: those are the environment's.
bool is_internal_error(const std::exception& e) noexcept;
}  // namespace tern::log

#define TERN_ASSERT(cond) ((cond) ? static_cast<void>(0) : ::tern::log::assert_failed(#cond, __FILE__, __LINE__))
