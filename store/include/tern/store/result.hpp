#pragma once
// tern::store::Result<T> and the store's error codes.
//
// Result<T> is a small expected<T, std::error_code> limited to the std::expected API
// subset (has_value, operator bool, value, operator*, operator->, error), so that it can
// become an alias of std::expected once we build with C++23.
//
// Every store error is a tern::store::Errc in store_category(). is_temporary(ec) tells
// the protocol daemons whether to answer 4xx (retry later: map full, disk full, I/O,
// busy) or 5xx (the request itself is wrong: quota, no such user, ...).
#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace tern::store {

enum class Errc {
  ok = 0,
  // Request errors (permanent): the same call will fail again.
  not_found = 1,         // generic: the named object does not exist
  exists,                // domain / account / alias / admin / mailbox already exists
  invalid_argument,      // malformed input (bad mailbox name, empty target list, ...)
  invalid_address,       // not a valid "local@domain" (or "@domain" where allowed)
  unknown_domain,        // the address's domain is not a local domain
  no_such_user,          // resolve(): no account, no alias, no catch-all
  account_disabled,      // resolve(): the account exists but is disabled
  no_such_mailbox,       // deliver()/select/...: the mailbox does not exist
  quota_exceeded,        // the write would exceed the account's quota (bytes or messages)
  alias_loop,            // alias_add(): the new alias would create a cycle / exceed depth
  not_permitted,         // e.g. delete INBOX, delete a domain that still has accounts
  schema_too_new,        // the store was written by a newer tern; this binary refuses it
  // Environment errors (temporary): retry later, answer 4xx.
  map_full = 100,        // LMDB map full and it could not grow
  disk_full,             // ENOSPC
  io_error,              // EIO and other OS errors
  busy,                  // too many readers / lock contention
  corrupt,               // a record failed to decode: a bug or corruption (check())
};

const std::error_category& store_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), store_category()};
}

// True for errors that a retry may cure (4xx), false for request errors (5xx).
inline bool is_temporary(std::error_code ec) noexcept {
  return ec.category() == store_category() && ec.value() >= 100;
}

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}                  // NOLINT
  Result(std::error_code ec) : v_(std::in_place_index<1>, ec) { assert(ec); } // NOLINT
  Result(Errc e) : Result(make_error_code(e)) {}                              // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // By value on rvalues, so `for (auto& x : *store.list())` does not dangle.
  T value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  std::error_code error() const { return has_value() ? std::error_code{} : std::get<1>(v_); }

 private:
  std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(std::error_code ec) : ec_(ec) {}   // NOLINT
  Result(Errc e) : ec_(make_error_code(e)) {}  // NOLINT
  bool has_value() const noexcept { return !ec_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {}
  std::error_code error() const { return ec_; }

 private:
  std::error_code ec_;
};

}  // namespace tern::store

namespace std {
template <>
struct is_error_code_enum<tern::store::Errc> : true_type {};
}  // namespace std
