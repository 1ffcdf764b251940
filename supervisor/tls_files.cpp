#include "tls_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

#include "safe_fs.hpp"

namespace tern::supervisor {

namespace {

std::filesystem::path key_of(const config::Config& cfg) {
  return cfg.tls.key.empty() ? std::filesystem::path(cfg.tls.cert) : std::filesystem::path(cfg.tls.key);
}

// True when `name` in `dir` is a regular file of ours with exactly `mode`.
bool ours(int dir, const char* name, mode_t mode) {
  struct stat st {};
  return ::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
         st.st_uid == ::geteuid() && (st.st_mode & 07777) == mode;
}

}  // namespace

TlsPair load_tls(const config::Config& cfg, int tls_dir) {
  TlsPair p;
  if (!cfg.tls.cert.empty() || !cfg.tls.key.empty()) {
    p.cert = cfg.tls.cert;
    p.creds = tls::read_credentials(cfg.tls.cert, key_of(cfg));
    if (auto problem = tls::check_credentials(p.creds); !problem.empty())
      throw std::runtime_error("[tls] " + problem + " (cert " + cfg.tls.cert + ", key " + key_of(cfg).string() + ")");
    return p;
  }
  p.self_signed = true;
  p.cert = cfg.data_dir / "tls" / "cert.pem";
  auto cert = read_file_at(tls_dir, "cert.pem", tls::kMaxPemBytes);
  auto key = read_file_at(tls_dir, "key.pem", tls::kMaxPemBytes);
  if (cert && key && tls::check_credentials({*cert, *key}).empty()) {
    p.creds = {*cert, *key};
  } else {
    p.creds = tls::generate_self_signed(cfg.hostname);
    p.generated = true;
  }
  // A pair a daemon made in an earlier layout (owned by the run user), or a new one:
  // (re)written by tern so that only tern's uid can change it.
  if (p.generated || !ours(tls_dir, "key.pem", 0600) || !ours(tls_dir, "cert.pem", 0644)) {
    if (auto e = write_file_at(tls_dir, "key.pem", p.creds.key_pem, 0600); !e.empty())
      throw std::runtime_error("tls: " + e + " in " + (cfg.data_dir / "tls").string());
    if (auto e = write_file_at(tls_dir, "cert.pem", p.creds.cert_pem, 0644); !e.empty())
      throw std::runtime_error("tls: " + e + " in " + (cfg.data_dir / "tls").string());
  }
  return p;
}

std::string check_tls_files(const config::Config& cfg) {
  if (cfg.tls.cert.empty() && cfg.tls.key.empty()) return {};
  try {
    auto c = tls::read_credentials(cfg.tls.cert, key_of(cfg));
    if (auto problem = tls::check_credentials(c); !problem.empty())
      return "[tls] " + problem + " (cert " + cfg.tls.cert + ", key " + key_of(cfg).string() + ")";
  } catch (const std::exception& e) {
    return std::string("[tls] ") + e.what();
  }
  return {};
}

}  // namespace tern::supervisor
