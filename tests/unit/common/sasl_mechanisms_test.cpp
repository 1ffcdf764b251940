// SASL mechanisms: PLAIN (RFC 4616) and LOGIN decoding tables, cancellation, limits,
// SCRAM-SHA-256 against the RFC 7677 §3 example byte for byte, and a full round trip
// with a client written here on OpenSSL (RFC 5802 §3 client side).
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <map>
#include <string>

#include "tern/auth/password.hpp"
#include "tern/sasl/sasl.hpp"
#include "tern/util/base64.hpp"

using namespace tern::sasl;
using tern::auth::ScramCredential;
using tern::util::base64_decode;
using tern::util::base64_encode;
using Kind = SaslStep::Kind;

namespace {

std::string b64(std::string_view s) { return base64_encode(s); }
std::string unb64(std::string_view s) {
  auto d = base64_decode(s);
  REQUIRE(d);
  return *d;
}

SaslStep plain_ir(std::string_view raw, Options o = {}) {
  auto m = make_mechanism("PLAIN", std::move(o));
  return m->start(b64(raw));
}

}  // namespace

TEST_CASE("make_mechanism names", "[sasl]") {
  CHECK(make_mechanism("PLAIN")->name() == "PLAIN");
  CHECK(make_mechanism("plain")->name() == "PLAIN");
  CHECK(make_mechanism("Login")->name() == "LOGIN");
  CHECK(make_mechanism("scram-sha-256")->name() == "SCRAM-SHA-256");
  CHECK(make_mechanism("SCRAM-SHA-256-PLUS") == nullptr);
  CHECK(make_mechanism("CRAM-MD5") == nullptr);
  CHECK(make_mechanism("") == nullptr);
  CHECK(mechanism_names(false) == std::vector<std::string_view>{"SCRAM-SHA-256"});
  CHECK(mechanism_names(true).size() == 3);
}

TEST_CASE("PLAIN decoding table", "[sasl][plain]") {
  using namespace std::string_literals;
  struct Row {
    std::string raw;
    Kind kind;
    FailReason reason;
    std::string authzid, authcid, password;
  };
  const Row rows[] = {
      {"\0tim\0tanstaaftanstaaf"s, Kind::NeedVerify, FailReason::None, "", "tim", "tanstaaftanstaaf"},
      {"Ursel\0Kurt\0xipj3plmq"s, Kind::Failure, FailReason::AuthzDenied, "", "", ""},
      {"kurt\0Kurt\0xipj3plmq"s, Kind::NeedVerify, FailReason::None, "kurt", "Kurt", "xipj3plmq"},
      {"a@b.test\0a@b.test\0p w"s, Kind::NeedVerify, FailReason::None, "a@b.test", "a@b.test", "p w"},
      {"\0tim\0"s, Kind::Failure, FailReason::Malformed, "", "", ""},          // empty password
      {"\0\0pw"s, Kind::Failure, FailReason::Malformed, "", "", ""},           // empty authcid
      {"tim"s, Kind::Failure, FailReason::Malformed, "", "", ""},              // no NUL
      {"\0timpw"s, Kind::Failure, FailReason::Malformed, "", "", ""},          // one NUL
      {"\0tim\0pw\0"s, Kind::Failure, FailReason::Malformed, "", "", ""},      // third NUL
      {"\0tim\0p\0w"s, Kind::Failure, FailReason::Malformed, "", "", ""},      // NUL in password
      {""s, Kind::Failure, FailReason::Malformed, "", "", ""},
  };
  for (const auto& r : rows) {
    INFO("raw (b64): " << b64(r.raw));
    SaslStep s = plain_ir(r.raw);
    CHECK(s.kind == r.kind);
    CHECK(s.reason == r.reason);
    if (r.kind == Kind::NeedVerify) {
      CHECK(s.authzid == r.authzid);
      CHECK(s.authcid == r.authcid);
      CHECK(s.password == r.password);
    }
  }
}

TEST_CASE("PLAIN without initial response, cancel, bad base64, overlong", "[sasl][plain]") {
  using namespace std::string_literals;
  auto m = make_mechanism("PLAIN");
  SaslStep s = m->start(std::nullopt);
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(s.challenge_b64.empty());
  s = m->step(b64("\0u\0p"s));
  CHECK(s.kind == Kind::NeedVerify);
  CHECK(s.authcid == "u");
  CHECK(s.password == "p");
  // The mechanism is finished: more input is a protocol error.
  CHECK(m->step(b64("\0u\0p"s)).reason == FailReason::Malformed);

  m = make_mechanism("PLAIN");
  m->start(std::nullopt);
  CHECK(m->step("*").reason == FailReason::Cancelled);

  CHECK(make_mechanism("PLAIN")->start("*").reason == FailReason::Cancelled);
  CHECK(make_mechanism("PLAIN")->start("=").reason == FailReason::Malformed);  // empty IR
  CHECK(make_mechanism("PLAIN")->start("AHUAcA").reason == FailReason::Malformed);  // no padding
  CHECK(make_mechanism("PLAIN")->start("AHUA cA==").reason == FailReason::Malformed);
  CHECK(make_mechanism("PLAIN")->start("!!!!").reason == FailReason::Malformed);
  m = make_mechanism("PLAIN");
  m->start(std::nullopt);
  CHECK(m->step("").reason == FailReason::Malformed);  // empty response

  // Overlong: > 8 KiB decoded by default; the limit is configurable.
  std::string big = "\0u\0"s + std::string(8192, 'x');
  CHECK(plain_ir(big).reason == FailReason::TooLong);
  std::string fits = "\0u\0"s + std::string(8189, 'x');
  CHECK(plain_ir(fits).kind == Kind::NeedVerify);
  Options small;
  small.max_decoded = 16;
  CHECK(plain_ir("\0user\0password1234"s, small).reason == FailReason::TooLong);
  CHECK(plain_ir("\0user\0pass"s, small).kind == Kind::NeedVerify);
}

TEST_CASE("LOGIN exchange and decoding table", "[sasl][login]") {
  using namespace std::string_literals;
  auto m = make_mechanism("LOGIN");
  SaslStep s = m->start(std::nullopt);
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(s.challenge_b64 == "VXNlcm5hbWU6");  // "Username:"
  s = m->step(b64("tim@example.test"));
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(s.challenge_b64 == "UGFzc3dvcmQ6");  // "Password:"
  s = m->step(b64("tanstaaf"));
  REQUIRE(s.kind == Kind::NeedVerify);
  CHECK(s.authcid == "tim@example.test");
  CHECK(s.password == "tanstaaf");
  CHECK(s.authzid.empty());

  // Initial response = the user name (RFC 4954 SASL-IR use by many clients).
  m = make_mechanism("LOGIN");
  s = m->start(b64("tim"));
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(unb64(s.challenge_b64) == "Password:");
  CHECK(m->step(b64("pw")).kind == Kind::NeedVerify);

  struct Row {
    std::string user_line, pass_line;
    FailReason reason;  // None = NeedVerify expected
  };
  const Row rows[] = {
      {b64("u"), b64("p"), FailReason::None},
      {"*", b64("p"), FailReason::Cancelled},
      {b64("u"), "*", FailReason::Cancelled},
      {"", b64("p"), FailReason::Malformed},          // empty user
      {b64("u"), "", FailReason::Malformed},          // empty password
      {"dQ", b64("p"), FailReason::Malformed},        // bad base64
      {b64("u"), "cA=", FailReason::Malformed},
      {b64("u\0v"s), b64("p"), FailReason::Malformed},  // NUL in user
      {b64("u"), b64("p\0q"s), FailReason::Malformed},  // NUL in password
      {b64(std::string(9000, 'u')), b64("p"), FailReason::TooLong},
      {b64("u"), b64(std::string(9000, 'p')), FailReason::TooLong},
  };
  for (const auto& r : rows) {
    INFO("user line: " << r.user_line.substr(0, 40) << " pass line: " << r.pass_line.substr(0, 40));
    auto mm = make_mechanism("LOGIN");
    REQUIRE(mm->start(std::nullopt).kind == Kind::Challenge);
    SaslStep a = mm->step(r.user_line);
    if (a.kind == Kind::Failure) {
      CHECK(a.reason == r.reason);
      continue;
    }
    SaslStep b = mm->step(r.pass_line);
    if (r.reason == FailReason::None) {
      CHECK(b.kind == Kind::NeedVerify);
    } else {
      CHECK(b.kind == Kind::Failure);
      CHECK(b.reason == r.reason);
    }
  }
}

// ------------------------------------------------------------------ SCRAM
namespace {

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha(std::string_view msg) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// A SCRAM-SHA-256 client (RFC 5802 §3), independent of the server code: it derives
// its keys from the password itself and checks the server signature.
struct TestClient {
  TestClient(std::string u, std::string p, std::string n, std::string g = "n,,")
      : user(std::move(u)), password(std::move(p)), cnonce(std::move(n)), gs2(std::move(g)) {}
  std::string user, password, cnonce, gs2;
  std::string client_first_bare, server_first, auth_message, salted;

  std::string first() {
    client_first_bare = "n=" + user + ",r=" + cnonce;
    return gs2 + client_first_bare;
  }
  std::string final_msg(const std::string& sfirst, bool corrupt = false) {
    server_first = sfirst;
    // r=<nonce>,s=<salt>,i=<n>
    auto r = sfirst.substr(2, sfirst.find(",s=") - 2);
    auto s_pos = sfirst.find(",s=") + 3;
    auto salt = unb64(sfirst.substr(s_pos, sfirst.find(",i=") - s_pos));
    int iters = std::stoi(sfirst.substr(sfirst.find(",i=") + 3));
    REQUIRE(r.starts_with(cnonce));
    unsigned char sp[32];
    REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()),
                              static_cast<int>(salt.size()), iters, EVP_sha256(), 32, sp) == 1);
    salted.assign(reinterpret_cast<char*>(sp), 32);
    std::string without_proof = "c=" + b64(gs2) + ",r=" + r;
    auth_message = client_first_bare + "," + server_first + "," + without_proof;
    std::string client_key = hmac(salted, "Client Key");
    std::string sig = hmac(sha(client_key), auth_message);
    std::string proof(32, '\0');
    for (int i = 0; i < 32; ++i) proof[i] = static_cast<char>(client_key[i] ^ sig[i]);
    if (corrupt) proof[0] = static_cast<char>(proof[0] ^ 1);
    return without_proof + ",p=" + b64(proof);
  }
  std::string expected_server_final() {
    return "v=" + b64(hmac(hmac(salted, "Server Key"), auth_message));
  }
};

// The mechanisms are pure: SCRAM asks for the credential (NeedCredential). This wrapper
// plays the driver's part from a map, so the tables below read as one exchange.
struct ScramOpts {
  Options o;
  std::map<std::string, ScramCredential> users;
};

class Resolving final : public SaslMechanism {
 public:
  Resolving(std::unique_ptr<SaslMechanism> m, std::map<std::string, ScramCredential> users)
      : m_(std::move(m)), users_(std::move(users)) {}
  std::string_view name() const override { return m_->name(); }
  SaslStep start(std::optional<std::string_view> ir) override { return resolve(m_->start(ir)); }
  SaslStep step(std::string_view line) override { return resolve(m_->step(line)); }
  int lookups = 0;

 private:
  SaslStep resolve(SaslStep s) {
    if (s.kind != Kind::NeedCredential) return s;
    ++lookups;
    auto it = users_.find(s.authcid);
    if (it == users_.end()) return m_->credential(std::nullopt);
    return m_->credential(it->second);
  }
  std::unique_ptr<SaslMechanism> m_;
  std::map<std::string, ScramCredential> users_;
};

std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name, const ScramOpts& so) {
  return std::make_unique<Resolving>(tern::sasl::make_mechanism(name, so.o), so.users);
}

ScramOpts scram_opts(std::map<std::string, ScramCredential> users, std::string nonce = {}) {
  ScramOpts so;
  so.users = std::move(users);
  so.o.test_server_nonce = std::move(nonce);
  so.o.fake_salt_secret = "test install secret";
  return so;
}

}  // namespace

TEST_CASE("SCRAM-SHA-256: RFC 7677 §3 example, byte for byte", "[sasl][scram]") {
  auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  REQUIRE(salt);
  auto cred = tern::auth::make_scram_credential("pencil", *salt, 4096);
  auto m = make_mechanism("SCRAM-SHA-256",
                          scram_opts({{"user", cred}}, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
  SaslStep s = m->start(std::nullopt);
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(s.challenge_b64.empty());
  s = m->step(b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(unb64(s.challenge_b64) ==
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
  s = m->step(b64("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  REQUIRE(s.kind == Kind::Challenge);
  CHECK(unb64(s.challenge_b64) == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  s = m->step("");
  CHECK(s.kind == Kind::Success);
  CHECK(s.authcid == "user");
  CHECK(s.authzid.empty());
}

TEST_CASE("SCRAM-SHA-256: RFC 7677 vector with the initial response and a wrong proof",
          "[sasl][scram]") {
  auto salt = base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  auto cred = tern::auth::make_scram_credential("pencil", *salt, 4096);
  auto opts = scram_opts({{"user", cred}}, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
  auto m = make_mechanism("SCRAM-SHA-256", opts);
  SaslStep s = m->start(b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  REQUIRE(s.kind == Kind::Challenge);
  // One bit flipped in the proof.
  s = m->step(b64("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU="));
  CHECK(s.kind == Kind::Failure);
  CHECK(s.reason == FailReason::BadCredentials);
  CHECK(s.authcid == "user");

  // Same client messages, but the stored credential is for another password.
  auto other = tern::auth::make_scram_credential("pencil2", *salt, 4096);
  m = make_mechanism("SCRAM-SHA-256", scram_opts({{"user", other}}, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"));
  m->start(b64("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
  s = m->step(b64("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                  "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
  CHECK(s.reason == FailReason::BadCredentials);
}

TEST_CASE("SCRAM-SHA-256: round trip with an independent client", "[sasl][scram]") {
  auto cred = tern::auth::make_scram_credential("s3cret pass");
  // Through the store's string form, as the daemons get it.
  auto stored = tern::auth::parse_scram(tern::auth::serialize_scram(cred));
  REQUIRE(stored);
  auto opts = scram_opts({{"alice@example.test", *stored}});

  for (const char* gs2 : {"n,,", "y,,", "n,a=alice@example.test,"}) {
    INFO("gs2 header: " << gs2);
    TestClient c{"alice@example.test", "s3cret pass", "fyko+d2lbbFgONRv9qkxdawL", gs2};
    auto m = make_mechanism("SCRAM-SHA-256", opts);
    SaslStep s = m->start(b64(c.first()));
    REQUIRE(s.kind == Kind::Challenge);
    std::string sfirst = unb64(s.challenge_b64);
    CHECK(sfirst.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"));
    CHECK(sfirst.size() > std::string("r=fyko+d2lbbFgONRv9qkxdawL").size() + 16);  // server nonce added
    s = m->step(b64(c.final_msg(sfirst)));
    REQUIRE(s.kind == Kind::Challenge);
    CHECK(unb64(s.challenge_b64) == c.expected_server_final());
    s = m->step("");
    CHECK(s.kind == Kind::Success);
    CHECK(s.authcid == "alice@example.test");
  }

  // Two exchanges get different server nonces.
  auto m1 = make_mechanism("SCRAM-SHA-256", opts);
  auto m2 = make_mechanism("SCRAM-SHA-256", opts);
  TestClient c{"alice@example.test", "x", "abc"};
  CHECK(m1->start(b64(c.first())).challenge_b64 != m2->start(b64(c.first())).challenge_b64);

  // Wrong password on the client side.
  TestClient bad{"alice@example.test", "s3cret pasS", "nonce1"};
  auto m = make_mechanism("SCRAM-SHA-256", opts);
  SaslStep s = m->start(b64(bad.first()));
  s = m->step(b64(bad.final_msg(unb64(s.challenge_b64))));
  CHECK(s.reason == FailReason::BadCredentials);

  // Corrupted proof from the right password.
  TestClient good{"alice@example.test", "s3cret pass", "nonce2"};
  m = make_mechanism("SCRAM-SHA-256", opts);
  s = m->start(b64(good.first()));
  s = m->step(b64(good.final_msg(unb64(s.challenge_b64), true)));
  CHECK(s.reason == FailReason::BadCredentials);
}

TEST_CASE("SCRAM-SHA-256: malformed and refused client messages", "[sasl][scram]") {
  auto cred = tern::auth::make_scram_credential("pw", "saltsaltsaltsalt", 4096);
  auto opts = scram_opts({{"user", cred}, {"a,b=c", cred}}, "SNONCE");

  struct Row {
    std::string client_first;
    FailReason reason;  // None = Challenge expected
  };
  const Row rows[] = {
      {"n,,n=user,r=abc", FailReason::None},
      {"y,,n=user,r=abc", FailReason::None},
      {"n,,n=user,r=abc,x=ext", FailReason::None},       // unknown optional extension
      {"n,,n=a=2Cb=3Dc,r=abc", FailReason::None},         // escaped saslname "a,b=c"
      {"p=tls-unique,,n=user,r=abc", FailReason::Unsupported},
      {"n,,m=ext,n=user,r=abc", FailReason::Unsupported},
      {"n,,n=nobody,r=abc", FailReason::None},           // unknown: a fake server-first
      {"n,a=other,n=user,r=abc", FailReason::AuthzDenied},
      {"", FailReason::Malformed},
      {"x,,n=user,r=abc", FailReason::Malformed},
      {"n,n=user,r=abc", FailReason::Malformed},          // gs2 header without authzid slot
      {"n,,r=abc,n=user", FailReason::Malformed},         // wrong order
      {"n,,n=user", FailReason::Malformed},               // no nonce
      {"n,,n=user,r=", FailReason::Malformed},            // empty nonce
      {"n,,n=,r=abc", FailReason::Malformed},             // empty user
      {"n,,n=us=er,r=abc", FailReason::Malformed},        // bad escape
      {"n,,n=user,r=a\x01" "b", FailReason::Malformed},   // unprintable nonce
      {std::string("n,,n=us\0er,r=abc", 16), FailReason::Malformed},
      {"n,x=y,n=user,r=abc", FailReason::Malformed},
  };
  for (const auto& r : rows) {
    INFO("client-first: " << r.client_first);
    auto m = make_mechanism("SCRAM-SHA-256", opts);
    SaslStep s = m->start(b64(r.client_first));
    if (r.reason == FailReason::None) {
      CHECK(s.kind == Kind::Challenge);
    } else {
      CHECK(s.kind == Kind::Failure);
      CHECK(s.reason == r.reason);
    }
  }

  // Client-final errors, after a good client-first "n,,n=user,r=abc".
  const std::pair<std::string, FailReason> finals[] = {
      {"c=biws,r=abcSNONCE", FailReason::Malformed},                                 // no proof
      {"c=biws,r=abcXXXXXX,p=" + b64(std::string(32, 'x')), FailReason::Malformed},  // wrong nonce
      {"c=eSws,r=abcSNONCE,p=" + b64(std::string(32, 'x')), FailReason::Malformed},  // c= mismatch
      {"r=abcSNONCE,c=biws,p=" + b64(std::string(32, 'x')), FailReason::Malformed},
      {"c=biws,r=abcSNONCE,p=" + b64(std::string(31, 'x')), FailReason::Malformed},  // short proof
      {"c=biws,r=abcSNONCE,p=!!!!", FailReason::Malformed},
      {"c=biws,r=abcSNONCE,p=" + b64(std::string(32, 'x')), FailReason::BadCredentials},
  };
  for (const auto& [fin, reason] : finals) {
    INFO("client-final: " << fin);
    auto m = make_mechanism("SCRAM-SHA-256", opts);
    REQUIRE(m->start(b64("n,,n=user,r=abc")).kind == Kind::Challenge);
    SaslStep s = m->step(b64(fin));
    CHECK(s.kind == Kind::Failure);
    CHECK(s.reason == reason);
  }

  // Cancel at each step; no lookup configured → NoCredential; bad base64.
  auto m = make_mechanism("SCRAM-SHA-256", opts);
  m->start(std::nullopt);
  CHECK(m->step("*").reason == FailReason::Cancelled);
  m = make_mechanism("SCRAM-SHA-256", opts);
  m->start(b64("n,,n=user,r=abc"));
  CHECK(m->step("*").reason == FailReason::Cancelled);
  {
    // Pure: no lookup inside; the driver is asked for the credential.
    auto raw = tern::sasl::make_mechanism("SCRAM-SHA-256");
    SaslStep need = raw->start(b64("n,,n=user,r=abc"));
    CHECK(need.kind == Kind::NeedCredential);
    CHECK(need.authcid == "user");
    CHECK(raw->step("x").reason == FailReason::Malformed);  // a line before the credential
  }
  CHECK(make_mechanism("SCRAM-SHA-256", opts)->start("bi=,").reason == FailReason::Malformed);
  CHECK(make_mechanism("SCRAM-SHA-256", opts)->start("=").reason == FailReason::Malformed);
  CHECK(make_mechanism("SCRAM-SHA-256", opts)->start(b64(std::string(9000, 'n'))).reason ==
        FailReason::TooLong);
}

TEST_CASE("SCRAM-SHA-256: the acknowledgement after server-final", "[sasl][scram]") {
  auto cred = tern::auth::make_scram_credential("pw");
  auto opts = scram_opts({{"user", cred}});
  auto run_to_final = [&](std::unique_ptr<SaslMechanism>& m) {
    TestClient c{"user", "pw", "cn"};
    m = make_mechanism("SCRAM-SHA-256", opts);
    SaslStep s = m->start(b64(c.first()));
    s = m->step(b64(c.final_msg(unb64(s.challenge_b64))));
    REQUIRE(s.kind == Kind::Challenge);
  };
  std::unique_ptr<SaslMechanism> m;
  run_to_final(m);
  CHECK(m->step("=").kind == Kind::Failure);  // "=" is only for initial responses
  run_to_final(m);
  CHECK(m->step(b64("junk")).reason == FailReason::Malformed);
  run_to_final(m);
  CHECK(m->step("*").reason == FailReason::Cancelled);
  run_to_final(m);
  CHECK(m->step("").kind == Kind::Success);
  CHECK(m->step("").reason == FailReason::Malformed);  // finished
}

TEST_CASE("SCRAM-SHA-256: an unknown login gets a fake server-first like a real one",
          "[sasl][scram][enumeration]") {
  auto cred = tern::auth::make_scram_credential("pw");
  auto opts = scram_opts({{"alice@example.test", cred}});
  auto server_first = [&](std::string user, const ScramOpts& o) {
    TestClient c{user, "pw", "cnonce"};
    auto m = make_mechanism("SCRAM-SHA-256", o);
    SaslStep s = m->start(b64(c.first()));
    REQUIRE(s.kind == Kind::Challenge);
    return unb64(s.challenge_b64);
  };
  // "r=<nonce>,s=<salt b64>,i=<n>": the same shape, salt length and count for both.
  auto shape = [](const std::string& sf) {
    auto s = sf.find(",s="), i = sf.find(",i=");
    REQUIRE(s != std::string::npos);
    REQUIRE(i != std::string::npos);
    return std::make_pair(sf.substr(s + 3, i - s - 3).size(), sf.substr(i));
  };
  std::string real = server_first("alice@example.test", opts);
  std::string fake = server_first("nobody@example.test", opts);
  CHECK(shape(real) == shape(fake));
  CHECK(real.size() == fake.size());

  // The fake salt is stable for a login (and its case), differs between logins and
  // between installs (secrets).
  auto salt = [](const std::string& sf) {
    auto s = sf.find(",s="), i = sf.find(",i=");
    return sf.substr(s + 3, i - s - 3);
  };
  CHECK(salt(fake) == salt(server_first("nobody@example.test", opts)));
  CHECK(salt(fake) == salt(server_first("NoBody@Example.test", opts)));
  CHECK(salt(fake) != salt(server_first("other@example.test", opts)));
  auto other_install = scram_opts({});
  other_install.o.fake_salt_secret = "another secret";
  CHECK(salt(fake) != salt(server_first("nobody@example.test", other_install)));
  CHECK(unb64(salt(fake)) == fake_scram_salt("test install secret", "nobody@example.test"));
  CHECK(fake_scram_salt("test install secret", "x").size() == 16);

  // The exchange goes on and fails at the proof, as a wrong password does.
  TestClient c{"nobody@example.test", "pw", "cn2"};
  auto m = make_mechanism("SCRAM-SHA-256", opts);
  SaslStep s = m->start(b64(c.first()));
  s = m->step(b64(c.final_msg(unb64(s.challenge_b64))));
  CHECK(s.kind == Kind::Failure);
  CHECK(s.reason == FailReason::NoCredential);
  CHECK(s.authcid == "nobody@example.test");
}
