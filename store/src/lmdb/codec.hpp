#pragma once
// Record encoding for the LMDB backend: keys are big-endian integers (so that LMDB's
// byte order equals numeric order and range scans work); values are a small
// length-prefixed binary format read with bounds checks (a short record throws
// CorruptRecord, mapped to Errc::corrupt).
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tern::store::lmdb {

struct CorruptRecord : std::runtime_error {
  CorruptRecord() : std::runtime_error("corrupt record") {}
};

class Writer {
 public:
  Writer& u8(std::uint8_t v) { s_.push_back(static_cast<char>(v)); return *this; }
  Writer& u32(std::uint32_t v) { return be(v, 4); }
  Writer& u64(std::uint64_t v) { return be(v, 8); }
  Writer& i64(std::int64_t v) { return be(static_cast<std::uint64_t>(v), 8); }
  Writer& str(std::string_view v) {
    u32(static_cast<std::uint32_t>(v.size()));
    s_.append(v);
    return *this;
  }
  Writer& raw(std::string_view v) { s_.append(v); return *this; }
  const std::string& data() const { return s_; }
  std::string take() { return std::move(s_); }

 private:
  Writer& be(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
  std::string s_;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(be(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(be(4)); }
  std::uint64_t u64() { return be(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(be(8)); }
  std::string_view str_view() {
    std::uint32_t n = u32();
    need(n);
    std::string_view v = s_.substr(0, n);
    s_.remove_prefix(n);
    return v;
  }
  std::string str() { return std::string(str_view()); }
  bool empty() const { return s_.empty(); }

 private:
  void need(std::size_t n) const {
    if (s_.size() < n) throw CorruptRecord();
  }
  std::uint64_t be(int n) {
    need(static_cast<std::size_t>(n));
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s_[static_cast<std::size_t>(i)]);
    s_.remove_prefix(static_cast<std::size_t>(n));
    return v;
  }
  std::string_view s_;
};

inline std::string key_u64(std::uint64_t a) { return Writer().u64(a).take(); }
inline std::string key_u64_u32(std::uint64_t a, std::uint32_t b) { return Writer().u64(a).u32(b).take(); }
inline std::string key_u64_u64(std::uint64_t a, std::uint64_t b) { return Writer().u64(a).u64(b).take(); }
inline std::string key_u64_u64_u32(std::uint64_t a, std::uint64_t b, std::uint32_t c) {
  return Writer().u64(a).u64(b).u32(c).take();
}
inline std::string key_u64_str(std::uint64_t a, std::string_view b) { return Writer().u64(a).raw(b).take(); }

inline std::uint64_t get_u64(std::string_view s, std::size_t off = 0) {
  if (s.size() < off + 8) throw CorruptRecord();
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}
inline std::uint32_t get_u32(std::string_view s, std::size_t off = 0) {
  if (s.size() < off + 4) throw CorruptRecord();
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

}  // namespace tern::store::lmdb
