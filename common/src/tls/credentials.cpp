// TLS credentials as PEM text; see tern/tls/credentials.hpp.
#include "tern/tls/credentials.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>

namespace tern::tls {

namespace {

namespace fs = std::filesystem;

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + openssl_error()); }

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using X509Ptr = std::unique_ptr<X509, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;

BioPtr mem_bio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

X509Ptr first_cert(const std::string& pem) {
  auto bio = mem_bio(pem);
  X509Ptr c(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  return c;
}

PkeyPtr private_key(const std::string& pem) {
  auto bio = mem_bio(pem);
  // No passphrase callback: an encrypted key is an error, never a prompt.
  static pem_password_cb* const no_prompt = [](char*, int, int, void*) { return 0; };
  PkeyPtr k(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_prompt, nullptr) : nullptr);
  ERR_clear_error();
  return k;
}

std::string read_file(const fs::path& p, const char* what) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + what + " " + p.string() + ": " + std::strerror(errno));
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxPemBytes)
      throw std::runtime_error(std::string(what) + " " + p.string() + " is larger than 256 KiB");
  }
  if (in.bad()) throw std::runtime_error(std::string("cannot read ") + what + " " + p.string());
  return out;
}

void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("x509 extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string to_pem(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("PEM encoding");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

bool parse_size(std::string_view s, std::size_t& out) {
  if (s.empty() || s.size() > 7 || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && out <= kMaxPemBytes;
}

}  // namespace

Credentials read_credentials(const fs::path& cert, const fs::path& key) {
  Credentials c;
  c.cert_pem = read_file(cert, "certificate");
  c.key_pem = key.empty() || key == cert ? c.cert_pem : read_file(key, "key");
  return c;
}

std::string check_credentials(const Credentials& c) {
  X509Ptr cert = first_cert(c.cert_pem);
  if (!cert) return "no PEM certificate in the certificate file";
  PkeyPtr key = private_key(c.key_pem);
  if (!key) return "no PEM private key in the key file (or it is encrypted)";
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return "the key does not match the certificate";
  }
  return {};
}

std::string describe(const Credentials& c) {
  X509Ptr cert = first_cert(c.cert_pem);
  if (!cert) return {};
  std::string out;
  char cn[256] = "";
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn) > 0)
    out = std::string("CN=") + cn;
  else
    out = "no CN";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio && ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert.get())) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    out += ", expires " + std::string(data, static_cast<std::size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) == 1) {
    out += ", sha256 ";
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < len; ++i) {
      if (i) out += ':';
      out += hex[md[i] >> 4];
      out += hex[md[i] & 15];
    }
  }
  ERR_clear_error();
  return out;
}

Credentials generate_self_signed(const std::string& hostname) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation");
  X509Ptr cert(X509_new());
  if (!cert) fail("X509_new");
  X509_set_version(cert.get(), 2);  // v3, for the extensions

  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("RAND_bytes");
  serial[0] &= 0x7f;  // positive (RFC 5280 §4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);

  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // clock skew
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), 3652, 0, nullptr);  // ~10 years

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), NID_ext_key_usage, "serverAuth");
  // RFC 6125 §6.4.4: clients match the name they dialled against the SAN only.
  std::string san = "DNS:" + hostname;
  if (hostname != "localhost") san += ",DNS:localhost";
  san += ",IP:127.0.0.1,IP:::1";
  add_ext(cert.get(), NID_subject_alt_name, san);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("X509_sign");

  Credentials c;
  c.key_pem = to_pem([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  c.cert_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  return c;
}

std::string encode(const Credentials& c) {
  std::string out = "TERNTLS1 " + std::to_string(c.cert_pem.size()) + " " +
                    std::to_string(c.key_pem.size()) + "\n";
  out += c.cert_pem;
  out += c.key_pem;
  return out;
}

std::optional<Credentials> decode(std::string_view wire) {
  constexpr std::string_view magic = "TERNTLS1 ";
  if (!wire.starts_with(magic)) return std::nullopt;
  wire.remove_prefix(magic.size());
  auto nl = wire.find('\n');
  if (nl == std::string_view::npos || nl > 16) return std::nullopt;
  std::string_view header = wire.substr(0, nl);
  wire.remove_prefix(nl + 1);
  auto sp = header.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  std::size_t cert_len = 0, key_len = 0;
  if (!parse_size(header.substr(0, sp), cert_len) || !parse_size(header.substr(sp + 1), key_len))
    return std::nullopt;
  if (wire.size() != cert_len + key_len) return std::nullopt;
  Credentials c;
  c.cert_pem = std::string(wire.substr(0, cert_len));
  c.key_pem = std::string(wire.substr(cert_len));
  return c;
}

}  // namespace tern::tls
