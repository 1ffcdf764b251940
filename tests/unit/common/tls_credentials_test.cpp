// tls::Credentials: the self-signed pair names every loopback identity, check_credentials
// catches a mismatched key, the handoff message round-trips and rejects anything else,
// and a pair sent over the handoff socket arrives whole (the newest of several wins).
#include "tern/tls/credentials.hpp"
#include "tern/tls/handoff.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

using namespace tern::tls;

namespace {

X509* parse(const std::string& pem) {
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  return x;
}

}  // namespace

TEST_CASE("self-signed certificate names hostname, localhost, 127.0.0.1 and ::1", "[tls]") {
  Credentials c = generate_self_signed("mx.example.test");
  CHECK(check_credentials(c).empty());
  X509* x = parse(c.cert_pem);
  REQUIRE(x);
  CHECK(X509_check_host(x, "mx.example.test", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(x, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(x, "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(x, "::1", 0) == 1);
  CHECK(X509_check_host(x, "other.test", 0, 0, nullptr) == 0);
  CHECK(X509_check_ip_asc(x, "127.0.0.2", 0) == 0);
  X509_free(x);
  CHECK(describe(c).starts_with("CN=mx.example.test, expires "));
  CHECK(describe(c).find(", sha256 ") != std::string::npos);
}

TEST_CASE("check_credentials: a key of another pair, garbage, a missing key", "[tls]") {
  Credentials a = generate_self_signed("a.test");
  Credentials b = generate_self_signed("b.test");
  CHECK(check_credentials({a.cert_pem, b.key_pem}) == "the key does not match the certificate");
  CHECK(check_credentials({"junk", a.key_pem}) == "no PEM certificate in the certificate file");
  CHECK(check_credentials({a.cert_pem, a.cert_pem}).starts_with("no PEM private key"));
  // the key may sit in the chain file
  CHECK(check_credentials({a.cert_pem + a.key_pem, a.cert_pem + a.key_pem}).empty());
}

TEST_CASE("handoff message: round trip, and strict decode", "[tls]") {
  Credentials c{"CERT\n", "KEY\n"};
  std::string wire = encode(c);
  CHECK(wire == "TERNTLS1 5 4\nCERT\nKEY\n");
  CHECK(decode(wire) == c);
  CHECK(decode(encode({})) == Credentials{});
  CHECK(!decode(wire.substr(0, wire.size() - 1)));  // truncated
  CHECK(!decode(wire + "x"));                       // trailing bytes
  CHECK(!decode("TERNTLS2 5 4\nCERT\nKEY\n"));
  CHECK(!decode("TERNTLS1 05 4\nCERT\nKEY\n"));     // no leading zeros
  CHECK(!decode("TERNTLS1 -5 4\nCERT\nKEY\n"));
  CHECK(!decode("TERNTLS1 5\nCERT\n"));
  CHECK(!decode("TERNTLS1 999999999 0\n"));        // over kMaxPemBytes
  CHECK(!decode(""));
}

TEST_CASE("handoff socket: the newest whole pair arrives", "[tls]") {
  int fds[2];
  REQUIRE(make_handoff_pair(fds));
  // The daemon side reads TERN_TLS_FD once, on first use.
  REQUIRE(::setenv(kTlsFdEnv, std::to_string(fds[1]).c_str(), 1) == 0);
  REQUIRE(handed_off());
  CHECK(!latest_handed_off());
  Credentials one = generate_self_signed("one.test");
  Credentials two = generate_self_signed("two.test");
  REQUIRE(send_credentials(fds[0], one).empty());
  CHECK(latest_handed_off() == one);
  CHECK(latest_handed_off() == one);  // nothing new queued: the last one again
  REQUIRE(send_credentials(fds[0], one).empty());
  REQUIRE(send_credentials(fds[0], two).empty());
  CHECK(latest_handed_off() == two);
  ::close(fds[0]);
  CHECK(latest_handed_off() == two);  // the supervisor's end closed: keep the last
}
