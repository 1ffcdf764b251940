#pragma once
// The TLS pair tern hands to the daemons, read as root before privileges are dropped
// (and again on SIGHUP): the [tls] cert/key files, or the self-signed pair in tern's
// own data_dir/tls (made on first need; key 0600, cert 0644, owned by tern's uid).
#include <filesystem>
#include <string>

#include "tern/config/config.hpp"
#include "tern/tls/credentials.hpp"

namespace tern::supervisor {

struct TlsPair {
  tls::Credentials creds;
  bool self_signed = false;
  bool generated = false;         // made just now
  std::filesystem::path cert;     // where a client (or an admin) finds the certificate
};

// `tls_dir`: an fd of data_dir/tls (used only without [tls] cert/key); `data_dir` for
// messages. Throws std::runtime_error naming the file and the problem.
TlsPair load_tls(const config::Config& cfg, int tls_dir);

// For --check-config: "" when [tls] cert/key are unset (self-signed) or exist, are
// readable by this process (root, as tern reads them) and the key matches the
// certificate; else the problem, naming the files.
std::string check_tls_files(const config::Config& cfg);

}  // namespace tern::supervisor
