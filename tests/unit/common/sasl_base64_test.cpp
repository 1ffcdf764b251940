// Base64 (RFC 4648): the §10 test vectors, strictness (no whitespace, canonical
// padding and trailing bits), binary round trip.
#include <catch2/catch.hpp>

#include <string>

#include "tern/util/base64.hpp"

using tern::util::base64_decode;
using tern::util::base64_decoded_size;
using tern::util::base64_encode;

TEST_CASE("base64 RFC 4648 §10 vectors", "[base64]") {
  const std::pair<const char*, const char*> v[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : v) {
    CHECK(base64_encode(plain) == enc);
    auto d = base64_decode(enc);
    REQUIRE(d);
    CHECK(*d == plain);
    CHECK(base64_decoded_size(enc) == std::string(plain).size());
  }
}

TEST_CASE("base64 binary round trip", "[base64]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    std::string s = all.substr(0, n);
    auto d = base64_decode(base64_encode(s));
    REQUIRE(d);
    CHECK(*d == s);
  }
}

TEST_CASE("base64 rejects malformed input", "[base64]") {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // short padding
      "Z===",      // too much padding
      "Zg==Zg==",  // padding in the middle
      "Zm9v YmFy", // whitespace
      "Zm9vYmFy\r\n",
      "Zm9vYmF$",  // outside the alphabet
      "Zh==",      // non-canonical trailing bits (RFC 4648 §3.5)
      "Zm9=",      // non-canonical trailing bits
      "====",
      "=",
      "Zm9vYmFy-_",
      "\xff\xff\xff\xff",
  };
  for (const char* b : bad) {
    INFO("input: " << b);
    CHECK_FALSE(base64_decode(b));
  }
  CHECK_FALSE(base64_decode(std::string("Zm9v\0mFy", 8)));
}
