#pragma once
// ThrottleTable: the failed-login counts behind auth::Throttle, in one fixed-size block
// of memory that several processes can map (design §6; as Dovecot's single auth process
// counts for every protocol). tern (the root supervisor) makes the block once per start
// (create_memfd) and each daemon inherits it (TERN_THROTTLE_FD), so SMTP AUTH, POP3,
// IMAP and the web login count against one limit; a daemon started alone gets a
// process-local block of the same layout (make_local). Pure: no Asio, no sockets.
//
// Layout: a header (geometry, a random SipHash key made at format time, the failure
// counters per service) and two set-associative hash tables (one for IP keys, one for
// account keys), each of `sets` sets of kWays slots. A key is hashed with SipHash-2-4
// (128-bit output, the per-start key: an attacker cannot aim keys at one set); its set
// is hash % sets; inside the set it takes its own slot, else a free or expired one,
// else the least recently failed one (eviction: O(kWays)). Slots hold no key text.
// Each slot counts failures in kSlices slices of window/kSlices (1 s for the 60 s
// window), a ring indexed by slice number: a failure is timed to the start of its
// slice, otherwise the semantics are those of a list of timestamps inside the window.
//
// Locking: sets are guarded by kStripes process-shared robust mutexes. A daemon killed
// (-9) while it held one leaves it to the next locker as EOWNERDEAD: that locker marks
// it consistent and goes on (a half-written slot is still well-formed: every field is
// checked when read, so the worst outcome is one key's count being off). The counters
// are lock-free atomics. Memory: bytes_for() is fixed at format time; untouched slots
// cost no RAM (zero pages).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace tern::auth {

enum class ThrottleKind : unsigned { Ip = 0, Account = 1 };

// Whose logins a failure counter counts (/metrics tern_auth_failures_total{service}).
enum class AuthService : unsigned { Smtp = 0, Pop3 = 1, Imap = 2, Web = 3, Other = 4 };
inline constexpr unsigned kAuthServices = 5;
std::string_view service_name(AuthService s);  // "smtp" "pop3" "imap" "web" "other"

// The environment variable naming the inherited table's fd.
inline constexpr const char* kThrottleFdEnv = "TERN_THROTTLE_FD";

class ThrottleTable {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  static constexpr unsigned kWays = 8;
  static constexpr unsigned kSlices = 60;
  static constexpr unsigned kStripes = 64;

  struct Geometry {
    std::size_t entries = 100000;         // per kind, rounded up to a multiple of kWays
    std::chrono::nanoseconds window{std::chrono::seconds(60)};
  };
  // Failures of one key inside the window, and, when count >= limit, when the count
  // falls below limit (the oldest failures that count leave the window).
  struct Count {
    unsigned count = 0;
    TimePoint frees{};
  };

  // Size of a block with this geometry.
  static std::size_t bytes_for(const Geometry& g);
  // A process-local table (anonymous private memory).
  static std::shared_ptr<ThrottleTable> make_local(const Geometry& g);
  // tern: a sealed memfd (MFD_CLOEXEC; size sealed) holding a formatted table; the
  // caller hands it to the daemons. Throws std::runtime_error.
  static int create_memfd(const Geometry& g);
  // Maps a table from create_memfd's fd (the fd may be closed afterwards). Throws
  // std::runtime_error on a bad size or header.
  static std::shared_ptr<ThrottleTable> map_fd(int fd);
  // The table tern handed this process (TERN_THROTTLE_FD), mapped once and its fd
  // closed; nullptr when there is none (a daemon started alone) or it is unusable
  // (logged as an error: the daemon then counts alone).
  static std::shared_ptr<ThrottleTable> inherited();

  ThrottleTable(const ThrottleTable&) = delete;
  ThrottleTable& operator=(const ThrottleTable&) = delete;
  ~ThrottleTable();

  Count count(ThrottleKind kind, std::string_view key, TimePoint now, unsigned limit = 0);
  void add_failure(ThrottleKind kind, std::string_view key, TimePoint now);
  void clear(ThrottleKind kind, std::string_view key);
  // Keys with failures inside the window (a full scan: tests and stats).
  std::size_t tracked(ThrottleKind kind, TimePoint now);
  std::size_t capacity(ThrottleKind kind) const;  // slots
  std::chrono::nanoseconds window() const;
  bool shared() const { return shared_; }

  // Counters of every process using the table.
  void count_failure(AuthService s);
  void count_refusal(AuthService s);
  std::uint64_t failures(AuthService s) const;
  std::uint64_t refusals(AuthService s) const;

  // Tests only: takes the lock guarding `key` and never releases it, as a daemon killed
  // in the middle of an update leaves it.
  void abandon_lock_for_test(ThrottleKind kind, std::string_view key);

 private:
  struct Header;
  struct Slot;
  struct Hash {
    std::uint64_t k0, k1;
  };
  ThrottleTable(void* mem, std::size_t size, bool shared);
  static void format(void* mem, std::size_t size, const Geometry& g);
  static void validate(const void* mem, std::size_t size);
  Hash hash(ThrottleKind kind, std::string_view key) const;
  Slot* set_of(ThrottleKind kind, const Hash& h, std::size_t* set_index) const;
  std::int64_t slice(TimePoint t) const;

  struct Geo {
    std::uint64_t sets[2];
    std::int64_t slice_ns;
    unsigned char key[16];
  };
  void* mem_;
  std::size_t size_;
  Geo geo_{};
  bool shared_;
  Header* hdr_;
};

}  // namespace tern::auth
