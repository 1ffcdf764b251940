#include "tern/dkim/key.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tern/util/base64.hpp"

namespace tern::dkim {
namespace {

std::shared_ptr<evp_pkey_st> wrap(EVP_PKEY* k) { return std::shared_ptr<evp_pkey_st>(k, EVP_PKEY_free); }

std::string ssl_error(std::string what) {
  unsigned long e = ERR_get_error();
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    what += ": ";
    what += buf;
  }
  ERR_clear_error();
  return what;
}

bool set_err(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return false;
}

// RFC 8301 §3.2: verifiers MUST NOT accept RSA keys below 1024 bits. Above 8192 only
// costs CPU for an attacker's benefit.
constexpr int kMinRsaBits = 1024;
constexpr int kMaxRsaBits = 8192;

}  // namespace

std::string_view key_type_name(KeyType t) { return t == KeyType::rsa ? "rsa" : "ed25519"; }

std::optional<KeyType> parse_key_type(std::string_view s) {
  if (s == "rsa") return KeyType::rsa;
  if (s == "ed25519") return KeyType::ed25519;
  return std::nullopt;
}

std::optional<PrivateKey> PrivateKey::generate(KeyType type, unsigned rsa_bits, std::string* error) {
  EVP_PKEY* k = nullptr;
  if (type == KeyType::rsa) {
    if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
      set_err(error, "RSA key size must be 1024..8192 bits");
      return std::nullopt;
    }
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!k) {
    set_err(error, ssl_error("key generation failed"));
    return std::nullopt;
  }
  PrivateKey pk;
  pk.type_ = type;
  pk.pkey_ = wrap(k);
  return pk;
}

std::optional<PrivateKey> PrivateKey::from_pem(std::string_view pem, std::string* error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                BIO_free);
  EVP_PKEY* k = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!k) {
    set_err(error, ssl_error("cannot read the private key PEM"));
    return std::nullopt;
  }
  PrivateKey pk;
  pk.pkey_ = wrap(k);
  int id = EVP_PKEY_get_base_id(k);
  if (id == EVP_PKEY_RSA) {
    pk.type_ = KeyType::rsa;
    int bits = EVP_PKEY_get_bits(k);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      set_err(error, "RSA key of " + std::to_string(bits) + " bits (1024..8192 allowed)");
      return std::nullopt;
    }
  } else if (id == EVP_PKEY_ED25519) {
    pk.type_ = KeyType::ed25519;
  } else {
    set_err(error, "the private key is neither RSA nor Ed25519");
    return std::nullopt;
  }
  return pk;
}

std::optional<PrivateKey> PrivateKey::from_ed25519_seed(std::string_view seed, std::string* error) {
  EVP_PKEY* k = seed.size() == 32 ? EVP_PKEY_new_raw_private_key(
                                        EVP_PKEY_ED25519, nullptr,
                                        reinterpret_cast<const unsigned char*>(seed.data()), 32)
                                  : nullptr;
  if (!k) {
    set_err(error, "an ed25519 seed must be 32 octets");
    return std::nullopt;
  }
  PrivateKey pk;
  pk.type_ = KeyType::ed25519;
  pk.pkey_ = wrap(k);
  return pk;
}

unsigned PrivateKey::bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(pkey_.get())); }

std::string PrivateKey::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string PrivateKey::public_p() const {
  if (type_ == KeyType::ed25519) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &len);
    return util::base64_encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(pkey_.get(), &der);
  std::string out = util::base64_encode(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return out;
}

std::string PrivateKey::dns_txt() const {
  return "v=DKIM1; k=" + std::string(key_type_name(type_)) + "; p=" + public_p();
}

std::optional<PublicKey> PublicKey::from_p(std::string_view p, KeyType type, std::string* error) {
  auto der = util::base64_decode(p);
  if (!der) {
    set_err(error, "p= is not base64");
    return std::nullopt;
  }
  PublicKey pk;
  pk.type_ = type;
  const auto* d = reinterpret_cast<const unsigned char*>(der->data());
  if (type == KeyType::ed25519) {
    if (der->size() != 32) {
      set_err(error, "an ed25519 p= must be 32 octets");
      return std::nullopt;
    }
    EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, d, 32);
    if (!k) {
      set_err(error, ssl_error("bad ed25519 key"));
      return std::nullopt;
    }
    pk.pkey_ = wrap(k);
    return pk;
  }
  const unsigned char* q = d;
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &q, static_cast<long>(der->size()));
  if (!k) {
    ERR_clear_error();
    q = d;
    k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &q, static_cast<long>(der->size()));
  }
  if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
    if (k) EVP_PKEY_free(k);
    set_err(error, ssl_error("p= is not an RSA public key"));
    return std::nullopt;
  }
  pk.pkey_ = wrap(k);
  int bits = EVP_PKEY_get_bits(k);
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    set_err(error, "RSA key of " + std::to_string(bits) + " bits (RFC 8301: at least 1024)");
    return std::nullopt;
  }
  return pk;
}

unsigned PublicKey::bits() const { return static_cast<unsigned>(EVP_PKEY_get_bits(pkey_.get())); }

std::vector<std::string> txt_strings(std::string_view value) {
  std::vector<std::string> out;
  while (value.size() > 255) {
    out.emplace_back(value.substr(0, 255));
    value.remove_prefix(255);
  }
  if (!value.empty() || out.empty()) out.emplace_back(value);
  return out;
}

std::string dns_txt_zone_line(std::string_view selector, std::string_view domain, std::string_view txt) {
  std::string out = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT ";
  auto parts = txt_strings(txt);
  if (parts.size() > 1) out += "( ";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ' ';
    out += '"' + parts[i] + '"';
  }
  if (parts.size() > 1) out += " )";
  return out;
}

}  // namespace tern::dkim
