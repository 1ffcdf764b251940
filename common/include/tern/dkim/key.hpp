#pragma once
// DKIM keys on OpenSSL 3 (EVP): rsa (RFC 6376, 2048-bit default, RFC 8301 minimum 1024)
// and ed25519 (RFC 8463). Private keys are kept as PKCS#8 PEM ("BEGIN PRIVATE KEY"), the
// form Store::put_dkim_key stores. A PrivateKey/PublicKey is immutable and cheap to copy
// (it shares one refcounted EVP_PKEY); it may be used by several threads at once.
//
// DNS key records (RFC 6376 §3.6.1): rsa `p=` is base64 of the DER SubjectPublicKeyInfo;
// ed25519 `p=` is base64 of the raw 32-byte public key (RFC 8463 §4.2).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace tern::dkim {

enum class KeyType { rsa, ed25519 };

std::string_view key_type_name(KeyType t);            // "rsa" / "ed25519" (the k= value)
std::optional<KeyType> parse_key_type(std::string_view s);  // "rsa" / "ed25519"

class PrivateKey {
 public:
  // Generate a new key: rsa with `rsa_bits` (1024..8192) or ed25519 (bits ignored).
  static std::optional<PrivateKey> generate(KeyType type, unsigned rsa_bits, std::string* error);
  // Load PEM (PKCS#8 or traditional RSA). Error for other key types or RSA < 1024 bits.
  static std::optional<PrivateKey> from_pem(std::string_view pem, std::string* error);
  // An ed25519 key from its raw 32-byte seed (RFC 8032; the form RFC 8463 §A.1 and
  // dkimpy write, base64-decoded).
  static std::optional<PrivateKey> from_ed25519_seed(std::string_view seed, std::string* error);

  KeyType type() const { return type_; }
  unsigned bits() const;          // RSA modulus bits; 256 for ed25519
  std::string to_pem() const;     // PKCS#8 PEM
  std::string public_p() const;   // the p= value of the DNS record (base64)
  // The whole TXT record value: "v=DKIM1; k=rsa; p=MIIB..." (one string; see txt_strings).
  std::string dns_txt() const;
  evp_pkey_st* evp() const { return pkey_.get(); }

 private:
  KeyType type_ = KeyType::rsa;
  std::shared_ptr<evp_pkey_st> pkey_;
};

class PublicKey {
 public:
  // From the p= value of a key record (whitespace already removed) and its k= type.
  // rsa accepts SubjectPublicKeyInfo DER and, as deployed keys sometimes are, a bare
  // PKCS#1 RSAPublicKey. nullopt with *error for bad base64/DER or RSA < 1024 bits.
  static std::optional<PublicKey> from_p(std::string_view p_base64, KeyType type, std::string* error);
  KeyType type() const { return type_; }
  unsigned bits() const;
  evp_pkey_st* evp() const { return pkey_.get(); }

 private:
  KeyType type_ = KeyType::rsa;
  std::shared_ptr<evp_pkey_st> pkey_;
};

// Split a TXT value into character-strings of at most 255 octets (RFC 1035 §3.3.14).
std::vector<std::string> txt_strings(std::string_view value);

// A zone-file line: `sel._domainkey.example.com. IN TXT ( "v=DKIM1; k=rsa; " "p=..." )`.
std::string dns_txt_zone_line(std::string_view selector, std::string_view domain,
                              std::string_view txt_value);

}  // namespace tern::dkim
