// The shared failed-login table; see tern/auth/throttle_table.hpp for the layout and
// the locking rules.
#include "tern/auth/throttle_table.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

namespace tern::auth {

std::string_view service_name(AuthService s) {
  switch (s) {
    case AuthService::Smtp: return "smtp";
    case AuthService::Pop3: return "pop3";
    case AuthService::Imap: return "imap";
    case AuthService::Web: return "web";
    case AuthService::Other: return "other";
  }
  return "other";
}

struct ThrottleTable::Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t ways, slices, stripes;
  std::uint64_t sets[2];
  std::int64_t slice_ns;
  std::uint64_t bytes;
  unsigned char key[16];  // SipHash key, random per format
  std::uint64_t failures[kAuthServices];  // atomic (std::atomic_ref)
  std::uint64_t refusals[kAuthServices];
};

struct ThrottleTable::Slot {
  std::uint64_t k0, k1;          // the key's SipHash; both 0 = free
  std::int64_t newest;           // slice of the most recent failure
  std::uint16_t counts[kSlices]; // failures per slice, ring by slice % kSlices
};

namespace {

constexpr char kMagic[8] = {'t', 'e', 'r', 'n', 't', 'h', 'r', '\1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kLine = 64;
constexpr std::int64_t S = ThrottleTable::kSlices;

constexpr std::size_t round_up(std::size_t n) { return (n + kLine - 1) / kLine * kLine; }

static_assert(sizeof(pthread_mutex_t) <= kLine);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

std::size_t header_bytes() { return round_up(sizeof(std::uint64_t) * 64); }  // >= sizeof(Header)
std::size_t stripes_bytes() { return ThrottleTable::kStripes * kLine; }

std::uint64_t sets_for(std::size_t entries) {
  const std::size_t e = std::max<std::size_t>(entries, 1);
  return (e + ThrottleTable::kWays - 1) / ThrottleTable::kWays;
}

pthread_mutex_t* stripe(void* mem, std::size_t i) {
  return reinterpret_cast<pthread_mutex_t*>(static_cast<char*>(mem) + header_bytes() + i * kLine);
}

class StripeLock {
 public:
  explicit StripeLock(pthread_mutex_t* m) : m_(m) {
    int rc = ::pthread_mutex_lock(m_);
    if (rc == EOWNERDEAD) {
      // Its holder died mid-update. Every slot stays well-formed (fields are checked
      // when read), so the table is usable as it is.
      ::pthread_mutex_consistent(m_);
    } else if (rc != 0) {
      throw std::runtime_error(std::string("throttle table: lock: ") + std::strerror(rc));
    }
  }
  ~StripeLock() { ::pthread_mutex_unlock(m_); }
  StripeLock(const StripeLock&) = delete;
  StripeLock& operator=(const StripeLock&) = delete;

 private:
  pthread_mutex_t* m_;
};

EVP_MAC* siphash() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  if (!mac) throw std::runtime_error("throttle table: OpenSSL has no SIPHASH");
  return mac;
}

}  // namespace

std::size_t ThrottleTable::bytes_for(const Geometry& g) {
  static_assert(sizeof(Header) <= 64 * sizeof(std::uint64_t));
  return header_bytes() + stripes_bytes() + 2 * sets_for(g.entries) * kWays * sizeof(Slot);
}

void ThrottleTable::format(void* mem, std::size_t size, const Geometry& g) {
  if (size != bytes_for(g)) throw std::logic_error("throttle table: format: wrong size");
  std::memset(mem, 0, header_bytes() + stripes_bytes());  // the slots are zero pages already
  auto* h = static_cast<Header*>(mem);
  std::memcpy(h->magic, kMagic, sizeof kMagic);
  h->version = kVersion;
  h->ways = kWays;
  h->slices = kSlices;
  h->stripes = kStripes;
  h->sets[0] = h->sets[1] = sets_for(g.entries);
  h->slice_ns = std::max<std::int64_t>(g.window.count() / S, 1);
  h->bytes = size;
  if (RAND_bytes(h->key, sizeof h->key) != 1) throw std::runtime_error("throttle table: RAND_bytes failed");
  pthread_mutexattr_t attr;
  ::pthread_mutexattr_init(&attr);
  ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  for (std::size_t i = 0; i < kStripes; ++i) ::pthread_mutex_init(stripe(mem, i), &attr);
  ::pthread_mutexattr_destroy(&attr);
}

void ThrottleTable::validate(const void* mem, std::size_t size) {
  auto bad = [](const char* why) { throw std::runtime_error(std::string("throttle table: ") + why); };
  if (size < header_bytes() + stripes_bytes()) bad("too small");
  const auto* h = static_cast<const Header*>(mem);
  if (std::memcmp(h->magic, kMagic, sizeof kMagic) != 0 || h->version != kVersion) bad("not a tern throttle table");
  if (h->ways != kWays || h->slices != kSlices || h->stripes != kStripes) bad("another layout");
  constexpr std::uint64_t max_sets = std::uint64_t{1} << 32;
  if (h->sets[0] == 0 || h->sets[1] == 0 || h->sets[0] > max_sets || h->sets[1] > max_sets) bad("bad geometry");
  if (h->slice_ns <= 0) bad("bad window");
  const std::size_t want = header_bytes() + stripes_bytes() + (h->sets[0] + h->sets[1]) * kWays * sizeof(Slot);
  if (h->bytes != size || want != size) bad("size does not match its geometry");
}

ThrottleTable::ThrottleTable(void* mem, std::size_t size, bool shared)
    : mem_(mem), size_(size), shared_(shared), hdr_(static_cast<Header*>(mem)) {
  // The geometry and the key are read once: another process cannot change them later.
  geo_.sets[0] = hdr_->sets[0];
  geo_.sets[1] = hdr_->sets[1];
  geo_.slice_ns = hdr_->slice_ns;
  std::memcpy(geo_.key, hdr_->key, sizeof geo_.key);
}

ThrottleTable::~ThrottleTable() { ::munmap(mem_, size_); }

std::shared_ptr<ThrottleTable> ThrottleTable::make_local(const Geometry& g) {
  const std::size_t size = bytes_for(g);
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::runtime_error(std::string("throttle table: mmap: ") + std::strerror(errno));
  try {
    format(mem, size, g);
  } catch (...) {
    ::munmap(mem, size);
    throw;
  }
  return std::shared_ptr<ThrottleTable>(new ThrottleTable(mem, size, false));
}

int ThrottleTable::create_memfd(const Geometry& g) {
  const std::size_t size = bytes_for(g);
  int fd = ::memfd_create("tern-throttle", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw std::runtime_error(std::string("throttle table: memfd_create: ") + std::strerror(errno));
  auto fail = [fd](const char* what) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error(std::string("throttle table: ") + what + ": " + std::strerror(e));
  };
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) fail("ftruncate");
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) fail("mmap");
  try {
    format(mem, size, g);
  } catch (...) {
    ::munmap(mem, size);
    ::close(fd);
    throw;
  }
  ::munmap(mem, size);
  // No daemon can shrink it under the others (SIGBUS) or grow it.
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) fail("seal");
  return fd;
}

std::shared_ptr<ThrottleTable> ThrottleTable::map_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error(std::string("throttle table: fstat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) throw std::runtime_error("throttle table: not a memory file");
  const auto size = static_cast<std::size_t>(st.st_size);
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) throw std::runtime_error(std::string("throttle table: mmap: ") + std::strerror(errno));
  try {
    validate(mem, size);
  } catch (...) {
    ::munmap(mem, size);
    throw;
  }
  return std::shared_ptr<ThrottleTable>(new ThrottleTable(mem, size, true));
}

std::shared_ptr<ThrottleTable> ThrottleTable::inherited() {
  static std::once_flag once;
  static std::shared_ptr<ThrottleTable> table;
  std::call_once(once, [] {
    const char* v = std::getenv(kThrottleFdEnv);
    if (!v || !*v) return;
    char* end = nullptr;
    long fd = std::strtol(v, &end, 10);
    if (*end != '\0' || fd < 3 || fd > std::numeric_limits<int>::max()) {
      spdlog::error("{}={} is not a file descriptor; failed logins are counted by this daemon alone",
                    kThrottleFdEnv, v);
      return;
    }
    try {
      table = map_fd(static_cast<int>(fd));
      spdlog::info("auth: failed logins counted in tern's table shared by all daemons");
    } catch (const std::exception& e) {
      spdlog::error("{}: {}; failed logins are counted by this daemon alone", kThrottleFdEnv, e.what());
    }
    ::close(static_cast<int>(fd));  // the mapping stays; children need not see it
    ::unsetenv(kThrottleFdEnv);
  });
  return table;
}

ThrottleTable::Hash ThrottleTable::hash(ThrottleKind kind, std::string_view key) const {
  unsigned char out[16]{};
  std::size_t outlen = 0, outsize = sizeof out;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &outsize), OSSL_PARAM_END};
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(siphash());
  const unsigned char k = static_cast<unsigned char>(kind);
  bool ok = ctx && EVP_MAC_init(ctx, geo_.key, sizeof geo_.key, params) == 1 && EVP_MAC_update(ctx, &k, 1) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size()) == 1 &&
            EVP_MAC_final(ctx, out, &outlen, sizeof out) == 1 && outlen == sizeof out;
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("throttle table: SipHash failed");
  Hash h{};
  std::memcpy(&h.k0, out, 8);
  std::memcpy(&h.k1, out + 8, 8);
  if (h.k0 == 0 && h.k1 == 0) h.k0 = 1;  // 0/0 marks a free slot
  return h;
}

ThrottleTable::Slot* ThrottleTable::set_of(ThrottleKind kind, const Hash& h, std::size_t* set_index) const {
  const auto k = static_cast<unsigned>(kind);
  const std::uint64_t set = h.k0 % geo_.sets[k];
  *set_index = static_cast<std::size_t>(set);
  auto* slots = reinterpret_cast<Slot*>(static_cast<char*>(mem_) + header_bytes() + stripes_bytes());
  if (k == 1) slots += geo_.sets[0] * kWays;
  return slots + set * kWays;
}

std::int64_t ThrottleTable::slice(TimePoint t) const {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns <= 0 ? 0 : ns / geo_.slice_ns;
}

namespace {

// A slot's failures are inside the window at slice n (a garbage `newest`, from a
// holder that died mid-write, counts as free).
bool live(const auto& s, std::int64_t n) {
  if (s.k0 == 0 && s.k1 == 0) return false;
  if (s.newest < 0) return false;
  return s.newest <= n ? n - s.newest < S : s.newest - n < S;
}

// The first slice still inside the window at n.
std::int64_t first_live(const auto& s, std::int64_t n) {
  return std::max<std::int64_t>(std::max(n, s.newest) - S + 1, 0);
}

unsigned total(const auto& s, std::int64_t n) {
  unsigned sum = 0;
  for (std::int64_t j = first_live(s, n); j <= s.newest; ++j) sum += s.counts[j % S];
  return sum;
}

}  // namespace

ThrottleTable::Count ThrottleTable::count(ThrottleKind kind, std::string_view key, TimePoint now, unsigned limit) {
  const Hash h = hash(kind, key);
  std::size_t set = 0;
  Slot* slots = set_of(kind, h, &set);
  const std::int64_t n = slice(now);
  StripeLock lock(stripe(mem_, (set * 2 + static_cast<unsigned>(kind)) % kStripes));
  Count c;
  for (unsigned w = 0; w < kWays; ++w) {
    const Slot& s = slots[w];
    if (s.k0 != h.k0 || s.k1 != h.k1 || !live(s, n)) continue;
    c.count = total(s, n);
    if (limit > 0 && c.count >= limit) {
      // When enough of the oldest slices have left the window.
      unsigned left = c.count;
      for (std::int64_t j = first_live(s, n); j <= s.newest; ++j) {
        left -= s.counts[j % S];
        if (left < limit) {
          c.frees = TimePoint(std::chrono::nanoseconds((j + S) * geo_.slice_ns));
          break;
        }
      }
    }
    break;
  }
  return c;
}

void ThrottleTable::add_failure(ThrottleKind kind, std::string_view key, TimePoint now) {
  const Hash h = hash(kind, key);
  std::size_t set = 0;
  Slot* slots = set_of(kind, h, &set);
  const std::int64_t n = slice(now);
  StripeLock lock(stripe(mem_, (set * 2 + static_cast<unsigned>(kind)) % kStripes));
  Slot* mine = nullptr;
  Slot* spare = nullptr;   // free or expired
  Slot* oldest = nullptr;  // least recently failed
  for (unsigned w = 0; w < kWays; ++w) {
    Slot& s = slots[w];
    const bool is_live = live(s, n);
    if (s.k0 == h.k0 && s.k1 == h.k1 && is_live) {
      mine = &s;
      break;
    }
    if (!is_live) {
      if (!spare) spare = &s;
    } else if (!oldest || s.newest < oldest->newest) {
      oldest = &s;
    }
  }
  if (!mine) {
    mine = spare ? spare : oldest;
    std::memset(mine->counts, 0, sizeof mine->counts);
    mine->k0 = h.k0;
    mine->k1 = h.k1;
    mine->newest = n;
  } else if (n > mine->newest) {
    // The ring's slices between the newest failure and now are from a past window.
    if (n - mine->newest >= S) {
      std::memset(mine->counts, 0, sizeof mine->counts);
    } else {
      for (std::int64_t j = mine->newest + 1; j <= n; ++j) mine->counts[j % S] = 0;
    }
    mine->newest = n;
  }
  // n < newest: another process stamped a later slice first; n is still in the ring.
  std::uint16_t& cnt = mine->counts[n % S];
  if (cnt < std::numeric_limits<std::uint16_t>::max()) ++cnt;
}

void ThrottleTable::clear(ThrottleKind kind, std::string_view key) {
  const Hash h = hash(kind, key);
  std::size_t set = 0;
  Slot* slots = set_of(kind, h, &set);
  StripeLock lock(stripe(mem_, (set * 2 + static_cast<unsigned>(kind)) % kStripes));
  for (unsigned w = 0; w < kWays; ++w) {
    Slot& s = slots[w];
    if (s.k0 == h.k0 && s.k1 == h.k1) std::memset(&s, 0, sizeof s);
  }
}

std::size_t ThrottleTable::tracked(ThrottleKind kind, TimePoint now) {
  const auto k = static_cast<unsigned>(kind);
  const std::int64_t n = slice(now);
  auto* base = reinterpret_cast<Slot*>(static_cast<char*>(mem_) + header_bytes() + stripes_bytes());
  if (k == 1) base += geo_.sets[0] * kWays;
  std::size_t live_keys = 0;
  for (std::uint64_t set = 0; set < geo_.sets[k]; ++set) {
    StripeLock lock(stripe(mem_, (set * 2 + k) % kStripes));
    for (unsigned w = 0; w < kWays; ++w) live_keys += live(base[set * kWays + w], n) ? 1 : 0;
  }
  return live_keys;
}

std::size_t ThrottleTable::capacity(ThrottleKind kind) const {
  return static_cast<std::size_t>(geo_.sets[static_cast<unsigned>(kind)] * kWays);
}

std::chrono::nanoseconds ThrottleTable::window() const { return std::chrono::nanoseconds(geo_.slice_ns * S); }

void ThrottleTable::count_failure(AuthService s) {
  std::atomic_ref<std::uint64_t>(hdr_->failures[static_cast<unsigned>(s) % kAuthServices])
      .fetch_add(1, std::memory_order_relaxed);
}

void ThrottleTable::count_refusal(AuthService s) {
  std::atomic_ref<std::uint64_t>(hdr_->refusals[static_cast<unsigned>(s) % kAuthServices])
      .fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t ThrottleTable::failures(AuthService s) const {
  return std::atomic_ref<std::uint64_t>(hdr_->failures[static_cast<unsigned>(s) % kAuthServices])
      .load(std::memory_order_relaxed);
}

std::uint64_t ThrottleTable::refusals(AuthService s) const {
  return std::atomic_ref<std::uint64_t>(hdr_->refusals[static_cast<unsigned>(s) % kAuthServices])
      .load(std::memory_order_relaxed);
}

void ThrottleTable::abandon_lock_for_test(ThrottleKind kind, std::string_view key) {
  std::size_t set = 0;
  (void)set_of(kind, hash(kind, key), &set);
  int rc = ::pthread_mutex_lock(stripe(mem_, (set * 2 + static_cast<unsigned>(kind)) % kStripes));
  if (rc == EOWNERDEAD) ::pthread_mutex_consistent(stripe(mem_, (set * 2 + static_cast<unsigned>(kind)) % kStripes));
}

}  // namespace tern::auth
