// Password hashes: our own yescrypt hashes, and hashes made at test time by other
// tools (mkpasswd from the whois package, openssl passwd) — the forms imported from
// Dovecot, cPanel and /etc/shadow. SCRAM credential derivation and serialisation.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "tern/auth/password.hpp"
#include "tern/util/base64.hpp"

using namespace tern::auth;

namespace {

// Runs a shell command and returns its first output line (without the newline).
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  INFO("command: " << cmd);
  REQUIRE(rc == 0);
  auto nl = out.find('\n');
  if (nl != std::string::npos) out.resize(nl);
  return out;
}

}  // namespace

TEST_CASE("hash_password makes yescrypt hashes that verify", "[password]") {
  std::string h = hash_password("correct horse");
  CHECK(h.starts_with("$y$"));
  CHECK(is_supported_hash(h));
  CHECK(verify_password("correct horse", h));
  CHECK_FALSE(verify_password("correct horsE", h));
  CHECK_FALSE(verify_password("", h));
  CHECK(hash_password("correct horse") != h);  // fresh salt each time
  CHECK(verify_password("correct horse", "{CRYPT}" + h));
  CHECK_THROWS_AS(hash_password(std::string("a\0b", 3)), PasswordError);
}

TEST_CASE("verify hashes made by mkpasswd and openssl", "[password]") {
  struct Tool {
    const char* name;
    std::string cmd;
    const char* prefix;
  };
  const Tool tools[] = {
      {"mkpasswd yescrypt", "printf %s 'pencil 42' | mkpasswd -s -m yescrypt", "$y$"},
      {"mkpasswd sha-512", "printf %s 'pencil 42' | mkpasswd -s -m sha-512", "$6$"},
      {"mkpasswd sha-512 rounds", "printf %s 'pencil 42' | mkpasswd -s -m sha-512 -R 20000",
       "$6$rounds=20000$"},
      {"mkpasswd bcrypt", "printf %s 'pencil 42' | mkpasswd -s -m bcrypt", "$2b$"},
      {"openssl passwd -6", "openssl passwd -6 -stdin <<< 'pencil 42'", "$6$"},
  };
  for (const auto& t : tools) {
    INFO(t.name);
    std::string h = run("bash -c \"" + t.cmd + "\"");
    INFO("hash: " << h);
    REQUIRE(h.starts_with(t.prefix));
    CHECK(is_supported_hash(h));
    CHECK(verify_password("pencil 42", h));
    CHECK_FALSE(verify_password("pencil 43", h));
    CHECK_FALSE(verify_password("pencil 4", h));
  }
}

TEST_CASE("Dovecot scheme prefixes are stripped", "[password]") {
  std::string h6 = run("bash -c \"printf %s secret | mkpasswd -s -m sha-512\"");
  std::string hb = run("bash -c \"printf %s secret | mkpasswd -s -m bcrypt\"");
  CHECK(verify_password("secret", "{SHA512-CRYPT}" + h6));
  CHECK(verify_password("secret", "{sha512-crypt}" + h6));
  CHECK(verify_password("secret", "{CRYPT}" + h6));
  CHECK(verify_password("secret", "{BLF-CRYPT}" + hb));
  CHECK_FALSE(verify_password("wrong", "{SHA512-CRYPT}" + h6));
  // A scheme that does not match the hash inside is a broken import.
  CHECK_FALSE(verify_password("secret", "{BLF-CRYPT}" + h6));
  CHECK_FALSE(verify_password("secret", "{PLAIN}secret"));
  CHECK_FALSE(verify_password("secret", "{SSHA}" + h6));
  CHECK(is_supported_hash("{SHA512-CRYPT}" + h6));
  CHECK_FALSE(is_supported_hash("{PLAIN}secret"));
}

TEST_CASE("unsupported or garbage hashes are false, never a crash", "[password]") {
  std::string h6 = run("bash -c \"printf %s secret | mkpasswd -s -m sha-512\"");
  std::string md5 = run("openssl passwd -1 secret");
  const std::string bad[] = {
      "", "*", "!", "!!", "x", "$", "$$$$", "$y$", "$6$", "$6$salt", "$6$rounds=abc$x$y",
      "$2b$99$abc", "{CRYPT}", "{", "{CRYPT", md5 /* $1$ MD5: refused */, "ab01FAX.bQRSU" /* DES */,
      h6.substr(0, h6.size() - 1), h6 + "x", std::string(h6).insert(5, std::string(1, '\0')),
      std::string(5000, '$'), "$y$j9T$" + std::string(3000, 'a') + "$b"};
  for (const auto& h : bad) {
    INFO("hash: " << h);
    CHECK_FALSE(verify_password("secret", h));
    CHECK_FALSE(is_supported_hash(h));
  }
  CHECK_FALSE(verify_password(std::string("sec\0ret", 7), h6));
}

TEST_CASE("SCRAM credential: RFC 7677 salt gives the keys the example implies", "[password][scram]") {
  auto salt = tern::util::base64_decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  REQUIRE(salt);
  ScramCredential c = make_scram_credential("pencil", *salt, 4096);
  CHECK(c.iterations == 4096);
  CHECK(c.stored_key.size() == 32);
  CHECK(c.server_key.size() == 32);
  // Deterministic for a given salt.
  CHECK(make_scram_credential("pencil", *salt, 4096) == c);
  CHECK_FALSE(make_scram_credential("pencil2", *salt, 4096) == c);
}

TEST_CASE("SCRAM credential: random salt, serialisation round trip", "[password][scram]") {
  ScramCredential a = make_scram_credential("pw one");
  ScramCredential b = make_scram_credential("pw one");
  CHECK(a.salt.size() == 16);
  CHECK(a.iterations == 4096);
  CHECK(a.salt != b.salt);
  std::string s = serialize_scram(a);
  CHECK(s.starts_with("SCRAM-SHA-256$4096:"));
  auto back = parse_scram(s);
  REQUIRE(back);
  CHECK(*back == a);
  const std::string bad[] = {
      "", "SCRAM-SHA-256$", "SCRAM-SHA-1$4096:AAAA$AAAA:AAAA", "SCRAM-SHA-256$0" + s.substr(18),
      "SCRAM-SHA-256$x:" + s.substr(19), s.substr(0, s.size() - 4), s + "A",
      "SCRAM-SHA-256$4096:$" + s.substr(s.find('$', 14) + 1), s.substr(0, s.rfind(':'))};
  for (const auto& t : bad) {
    INFO("text: " << t);
    CHECK_FALSE(parse_scram(t));
  }
}

TEST_CASE("SCRAM password subset of SASLprep", "[password][scram]") {
  CHECK(scram_password_acceptable("pencil"));
  CHECK(scram_password_acceptable("p\xc3\xa9ncil"));
  CHECK_FALSE(scram_password_acceptable(""));
  CHECK_FALSE(scram_password_acceptable("pen\tcil"));
  CHECK_FALSE(scram_password_acceptable(std::string("pen\0cil", 7)));
  CHECK_FALSE(scram_password_acceptable("pen\x7f"));
  CHECK_THROWS_AS(make_scram_credential("a\nb"), PasswordError);
}

TEST_CASE("our hashes verify in Dovecot (doveadm pw -t), and the reverse", "[password]") {
  // The hashes tern writes must keep working if an admin moves accounts to Dovecot.
  std::string h = hash_password("dove pencil");
  CHECK(run("doveadm pw -t '{CRYPT}" + h + "' -p 'dove pencil' 2>&1").ends_with("(verified)"));
  std::string d = run("doveadm pw -s SHA512-CRYPT -p 'dove pencil'");
  INFO("doveadm hash: " << d);
  REQUIRE(d.starts_with("{SHA512-CRYPT}$6$"));
  CHECK(verify_password("dove pencil", d));
  CHECK_FALSE(verify_password("dove pencil!", d));
  // A mismatch is reported by doveadm as a failure (exit status 75).
  FILE* p = popen(("doveadm pw -t '{CRYPT}" + h + "' -p 'wrong' >/dev/null 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  CHECK(pclose(p) != 0);
}
