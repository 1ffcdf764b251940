// TlsContext and the self-signed certificate; see tern/net/tls.hpp.
#include "tern/net/tls.hpp"

#include "tern/tls/handoff.hpp"

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
  tls::Credentials c = tls::generate_self_signed(hostname);
  write_pem(key_path, 0600, [&](FILE* f) { return std::fwrite(c.key_pem.data(), 1, c.key_pem.size(), f) == c.key_pem.size(); });
  write_pem(cert_path, 0644, [&](FILE* f) { return std::fwrite(c.cert_pem.data(), 1, c.cert_pem.size(), f) == c.cert_pem.size(); });
}

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};

std::unique_ptr<BIO, Free> mem_bio(const std::string& s) {
  return std::unique_ptr<BIO, Free>(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
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

std::shared_ptr<asio::ssl::context> make_server_context(const tls::Credentials& creds) {
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

  // The chain: the first certificate is the server's, the rest are sent after it.
  auto bio = mem_bio(creds.cert_pem);
  std::unique_ptr<X509, Free> leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) fail("tls: no certificate in the certificate PEM");
  if (SSL_CTX_use_certificate(h, leaf.get()) != 1) fail("tls: cannot use the certificate");
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(h, extra) != 1) {
      X509_free(extra);
      fail("tls: cannot add a chain certificate");
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
  auto kbio = mem_bio(creds.key_pem);
  static pem_password_cb* const no_prompt = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, Free> key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, no_prompt, nullptr));
  if (!key) fail("tls: no private key in the key PEM (or it is encrypted)");
  if (SSL_CTX_use_PrivateKey(h, key.get()) != 1) fail("tls: cannot use the key");
  if (SSL_CTX_check_private_key(h) != 1) fail("tls: the key does not match the certificate");
  return ctx;
}

std::shared_ptr<asio::ssl::context> make_server_context(const fs::path& cert,
                                                        const fs::path& key) {
  tls::Credentials c = tls::read_credentials(cert, key);
  try {
    return make_server_context(c);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + " (" + cert.string() + ", " + key.string() + ")");
  }
}

TlsContext::TlsContext(const config::Config& cfg) {
  if (tls::handed_off()) {
    // Started by tern: it read the files (as root) and sends the pair.
  } else if (!cfg.tls.cert.empty() || !cfg.tls.key.empty()) {
    cert_ = cfg.tls.cert;
    key_ = cfg.tls.key.empty() ? cfg.tls.cert : cfg.tls.key;  // key may sit in the chain file
  } else {
    fs::path dir = cfg.data_dir / "tls";
    ensure_self_signed(dir, cfg.hostname);
    cert_ = dir / "cert.pem";
    key_ = dir / "key.pem";
  }
  creds_ = load();
  try {
    ctx_ = make_server_context(creds_);
  } catch (const std::exception& e) {
    if (cert_.empty()) throw;
    throw std::runtime_error(std::string(e.what()) + " (" + cert_.string() + ", " + key_.string() + ")");
  }
}

tls::Credentials TlsContext::load() const {
  if (!cert_.empty()) return tls::read_credentials(cert_, key_);
  auto c = tls::latest_handed_off(std::chrono::seconds(5));
  if (!c) throw std::runtime_error("tls: no certificate received from tern on " + std::string(tls::kTlsFdEnv));
  return *c;
}

std::shared_ptr<asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

bool TlsContext::reload() {
  try {
    tls::Credentials c = load();
    auto fresh = make_server_context(c);
    std::lock_guard lock(mu_);
    ctx_ = std::move(fresh);
    creds_ = std::move(c);
  } catch (const std::exception& e) {
    spdlog::error("- tls: reload failed, keeping the old certificate: {}", e.what());
    return false;
  }
  std::string what;
  {
    std::lock_guard lock(mu_);
    what = tls::describe(creds_);
  }
  spdlog::info("- tls: reloaded {}: {}", cert_.empty() ? std::string("the pair from tern") : cert_.string(), what);
  return true;
}

}  // namespace tern::net
