#pragma once
// TlsContext: the server-side TLS configuration of one daemon.
//   - TLS 1.2 and 1.3 only; for 1.2 only ECDHE with AES-GCM or CHACHA20-POLY1305,
//     the server's preference order; TLS 1.3 suites are OpenSSL's defaults.
//   - No compression, no renegotiation.
//   - Certificate chain + key from [tls] cert/key; when both are empty, a
//     self-signed pair for `hostname` in data_dir/tls/{cert.pem,key.pem} (made once
//     under a lock file, so daemons starting together agree on one pair; key 0600).
//   - reload() (SIGHUP) builds a new context from the same files; connections
//     accepted afterwards use it, established ones keep theirs. A failed reload
//     logs an error and keeps the old context.
// Thread-safe: current() and reload() may be called from any thread.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "tern/config/config.hpp"
#include "tern/net/asio.hpp"

namespace tern::net {

class TlsContext {
 public:
  // Throws std::runtime_error naming the file when the cert/key cannot be loaded
  // (or the self-signed pair cannot be written).
  explicit TlsContext(const config::Config& cfg);

  // The context for new connections; callers keep the shared_ptr for the
  // connection's life.
  std::shared_ptr<asio::ssl::context> current() const;

  // Re-read cert and key. false (old context kept, error logged) on failure.
  bool reload();

  const std::filesystem::path& cert_file() const { return cert_; }
  const std::filesystem::path& key_file() const { return key_; }

 private:
  std::filesystem::path cert_;
  std::filesystem::path key_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
};

// A server context from PEM files (chain, key); throws std::runtime_error.
std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& cert,
                                                        const std::filesystem::path& key);

// Makes dir/cert.pem + dir/key.pem (EC P-256, SAN DNS:hostname, 10 years) unless
// both exist. Returns true when it generated them. Throws std::runtime_error.
bool ensure_self_signed(const std::filesystem::path& dir, const std::string& hostname);

}  // namespace tern::net
