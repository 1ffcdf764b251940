#pragma once
// A server's TLS credentials as PEM text (certificate chain, private key), apart from
// files and from Asio: the supervisor reads them as root (a Let's Encrypt privkey.pem is
// 0600 root in a 0700 directory) and hands them to each daemon (tern/tls/handoff.hpp);
// a daemon run alone reads the files itself. Uses libcrypto only.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace tern::tls {

struct Credentials {
  std::string cert_pem;  // leaf first, then intermediates (fullchain.pem)
  std::string key_pem;   // may also be the chain file when the key sits in it
  bool operator==(const Credentials&) const = default;
};

inline constexpr std::size_t kMaxPemBytes = 256 * 1024;  // per file; a chain is ~5 KiB

// Reads both files (key empty = the key sits in the cert file). Throws
// std::runtime_error naming the file ("cannot read ...: Permission denied").
Credentials read_credentials(const std::filesystem::path& cert, const std::filesystem::path& key);

// "" when cert_pem holds at least one certificate, key_pem a private key, and the key
// belongs to the first certificate; else a one-line reason ("the key does not match
// the certificate").
std::string check_credentials(const Credentials& c);

// One line for logs: "CN=mx.example.test, expires 2036-11-29, sha256 AB:CD:..:EF"
// (the fingerprint of the leaf). "" when the certificate does not parse.
std::string describe(const Credentials& c);

// A self-signed pair (EC P-256, 10 years, serverAuth) naming `hostname`, localhost,
// 127.0.0.1 and ::1 in its subjectAltName, so clients that connect by IP (fetchmail,
// mpop, msmtp to 127.0.0.1) can verify it once trusted. Throws std::runtime_error.
Credentials generate_self_signed(const std::string& hostname);

// The handoff wire format: "TERNTLS1 <cert bytes> <key bytes>\n" then both PEM texts.
std::string encode(const Credentials& c);
// Strict inverse of encode(); nullopt for anything else (bad header, lengths over
// kMaxPemBytes, trailing or missing bytes). Pure: the fuzz target.
std::optional<Credentials> decode(std::string_view wire);

}  // namespace tern::tls
