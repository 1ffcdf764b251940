#pragma once
// First start: when data_dir has no store yet, create a demo domain, a mailbox and an
// admin with random passwords, so a fresh `scripts/run` can be tried at once.
#include <filesystem>
#include <optional>
#include <string>

namespace tern::supervisor {

struct FirstStartLogin {
  std::string domain;            // "example.test"
  std::string mailbox;           // "demo@example.test"
  std::string mailbox_password;
  std::string admin;             // "admin"
  std::string admin_password;
};

// Returns the created logins, or nullopt when data_dir/store already exists (not a
// first start). Throws std::runtime_error if the store can't be created.
std::optional<FirstStartLogin> first_start(const std::filesystem::path& data_dir);

// 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I), from RAND_bytes.
std::string random_password();

}  // namespace tern::supervisor
