// TlsContext and the self-signed certificate; see tern/net/tls.hpp.
#include "tern/net/tls.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <system_error>

namespace tern::net {

namespace {

namespace fs = std::filesystem;

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only, the usual "intermediate"
// choice of RFC 7525 §4.2 / RFC 9325 §4.2. TLS 1.3 keeps OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + openssl_error());
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

void add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("x509 extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Writes with a temporary name then renames, so a reader never sees half a file.
void write_pem(const fs::path& path, mode_t mode, const std::function<bool(FILE*)>& body) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp.string());
  ::fchmod(fd, mode);  // umask must not widen or narrow it
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    throw std::runtime_error("cannot open " + tmp.string());
  }
  bool ok = body(f);
  ok = (std::fflush(f) == 0) && ok;
  ok = (::fsync(fd) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp.string() + ": " + ec.message());
}

void generate_pair(const fs::path& cert_path, const fs::path& key_path,
                   const std::string& hostname) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation");
  std::unique_ptr<X509, X509Free> cert(X509_new());
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
                             reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  add_ext(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), NID_subject_alt_name, "DNS:" + hostname);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("X509_sign");

  write_pem(key_path, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  write_pem(cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; });
}

}  // namespace

bool ensure_self_signed(const fs::path& dir, const std::string& hostname) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  const fs::path cert = dir / "cert.pem";
  const fs::path key = dir / "key.pem";
  // Daemons started together by the supervisor share data_dir: one lock so they
  // agree on a single pair instead of overwriting each other's.
  const fs::path lock = dir / ".lock";
  int lfd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0) throw std::runtime_error("cannot open " + lock.string());
  ::flock(lfd, LOCK_EX);
  bool made = false;
  try {
    if (!fs::exists(cert) || !fs::exists(key)) {
      generate_pair(cert, key, hostname);
      made = true;
    }
  } catch (...) {
    ::close(lfd);
    throw;
  }
  ::close(lfd);  // releases the lock
  if (made) spdlog::info("- tls: generated a self-signed certificate for {} in {}", hostname,
                         dir.string());
  return made;
}

std::shared_ptr<asio::ssl::context> make_server_context(const fs::path& cert,
                                                        const fs::path& key) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                   asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(h, TLS1_2_VERSION);
  // Server preference (RFC 9325 §4.3 allows it); renegotiation is an old attack
  // surface (CVE-2009-3555 and later), and TLS 1.3 has none anyway.
  SSL_CTX_set_options(h, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(h, kTls12Ciphers) != 1) fail("cipher list");
  static const unsigned char sid_ctx[] = "tern";
  SSL_CTX_set_session_id_context(h, sid_ctx, sizeof sid_ctx - 1);

  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert.string(), ec);
  if (ec) throw std::runtime_error("tls: cannot load certificate " + cert.string() + ": " +
                                   ec.message());
  ctx->use_private_key_file(key.string(), asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("tls: cannot load key " + key.string() + ": " + ec.message());
  if (SSL_CTX_check_private_key(h) != 1)
    fail("tls: key " + key.string() + " does not match " + cert.string());
  return ctx;
}

TlsContext::TlsContext(const config::Config& cfg) {
  if (!cfg.tls.cert.empty() || !cfg.tls.key.empty()) {
    cert_ = cfg.tls.cert;
    key_ = cfg.tls.key.empty() ? cfg.tls.cert : cfg.tls.key;  // key may sit in the chain file
  } else {
    fs::path dir = cfg.data_dir / "tls";
    ensure_self_signed(dir, cfg.hostname);
    cert_ = dir / "cert.pem";
    key_ = dir / "key.pem";
  }
  ctx_ = make_server_context(cert_, key_);
}

std::shared_ptr<asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

bool TlsContext::reload() {
  try {
    auto fresh = make_server_context(cert_, key_);
    std::lock_guard lock(mu_);
    ctx_ = std::move(fresh);
  } catch (const std::exception& e) {
    spdlog::error("- tls: reload failed, keeping the old certificate: {}", e.what());
    return false;
  }
  spdlog::info("- tls: reloaded {}", cert_.string());
  return true;
}

}  // namespace tern::net
