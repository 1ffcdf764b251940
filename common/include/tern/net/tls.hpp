#pragma once
// TlsContext: the server-side TLS configuration of one daemon.
//   - TLS 1.2 and 1.3 only; for 1.2 only ECDHE with AES-GCM or CHACHA20-POLY1305,
//     the server's preference order; TLS 1.3 suites are OpenSSL's defaults.
//   - No compression, no renegotiation.
//   - Under the supervisor (TERN_TLS_FD set, tern/tls/handoff.hpp): the certificate
//     and key tern read as root and handed over; reload() takes the newest pair tern
//     sent before forwarding SIGHUP. No file is opened, so a root-only key works.
//   - Run alone: certificate chain + key from [tls] cert/key; when both are empty, a
//     self-signed pair for `hostname` in data_dir/tls/{cert.pem,key.pem} (made once
//     under a lock file, so daemons starting together agree on one pair; key 0600).
//     reload() re-reads the files.
//   - Connections accepted after a reload use the new context, established ones keep
//     theirs. A failed reload logs an error and keeps the old context.
// Thread-safe: current() and reload() may be called from any thread.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "tern/config/config.hpp"
#include "tern/net/asio.hpp"
#include "tern/tls/credentials.hpp"

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

  // The files read (empty when the supervisor handed the pair over).
  const std::filesystem::path& cert_file() const { return cert_; }
  const std::filesystem::path& key_file() const { return key_; }

 private:
  tls::Credentials load() const;  // from the supervisor or the files; throws

  std::filesystem::path cert_;
  std::filesystem::path key_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
  tls::Credentials creds_;  // what ctx_ was built from
};

// A server context from PEM text (chain, key); throws std::runtime_error.
std::shared_ptr<asio::ssl::context> make_server_context(const tls::Credentials& creds);

// A server context from PEM files (chain, key); throws std::runtime_error.
std::shared_ptr<asio::ssl::context> make_server_context(const std::filesystem::path& cert,
                                                        const std::filesystem::path& key);

// Makes dir/cert.pem + dir/key.pem (tls::generate_self_signed: SAN hostname,
// localhost, 127.0.0.1, ::1) unless both exist. Returns true when it generated them. Throws std::runtime_error.
bool ensure_self_signed(const std::filesystem::path& dir, const std::string& hostname);

}  // namespace tern::net
