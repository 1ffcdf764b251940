// Base64 per RFC 4648 §4 (declared in tern/util/base64.hpp; kept beside SASL, its
// main user). Strict decoding: SASL profiles (RFC 4954 §4, RFC 5034 §4) require
// the client's response to be base64 with no whitespace; we also insist on the
// canonical form (RFC 4648 §3.5) so one string has one meaning.
#include "tern/util/base64.hpp"

#include <array>
#include <cstdint>

namespace tern::util {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                      std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::size_t base64_decoded_size(std::string_view text) {
  std::size_t n = text.size() / 4 * 3 + (text.size() % 4 ? 3 : 0);
  if (!text.empty() && text.back() == '=') --n;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --n;
  return n;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') {
    pad = (text[text.size() - 2] == '=') ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    std::int8_t s[4];
    for (int k = 0; k < 4; ++k) {
      bool is_pad_slot = last && k >= 4 - static_cast<int>(pad);
      if (is_pad_slot) {
        s[k] = 0;  // '=' verified by construction of `pad` below
        if (text[i + k] != '=') return std::nullopt;
        continue;
      }
      s[k] = kTable[static_cast<unsigned char>(text[i + k])];
      if (s[k] < 0) return std::nullopt;  // includes a stray '=' in the middle
    }
    std::uint32_t v = (std::uint32_t(s[0]) << 18) | (std::uint32_t(s[1]) << 12) |
                      (std::uint32_t(s[2]) << 6) | std::uint32_t(s[3]);
    out += static_cast<char>((v >> 16) & 0xFF);
    if (last && pad == 2) {
      if (v & 0xFFFF) return std::nullopt;  // non-canonical trailing bits
      break;
    }
    out += static_cast<char>((v >> 8) & 0xFF);
    if (last && pad == 1) {
      if (v & 0xFF) return std::nullopt;
      break;
    }
    out += static_cast<char>(v & 0xFF);
  }
  return out;
}

}  // namespace tern::util
