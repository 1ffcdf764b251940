#pragma once
// First start: when data_dir has no store yet, create it; with the embedded dev config
// (`scripts/run`) also a demo domain, a mailbox and an admin with random passwords, so
// it can be tried at once. With a config file (production) the store stays empty and
// tern prints the ternctl commands that create the first domain and admin.
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

struct FirstStart {
  bool created = false;                 // data_dir/store did not exist and now does
  std::optional<FirstStartLogin> demo;  // with `demo`: the logins made
};

// Creates the store unless data_dir/store exists; with `demo`, fills it as above.
// Throws std::runtime_error if the store can't be created.
FirstStart first_start(const std::filesystem::path& data_dir, bool demo);

// The text printed on a first start with a config file: the commands that create the
// first domain and admin (`config` = the --config argument as given).
std::string first_steps(const std::filesystem::path& data_dir, const std::filesystem::path& config);

// 16 characters from an alphabet without look-alikes (no 0/O, 1/l/I), from RAND_bytes.
std::string random_password();

}  // namespace tern::supervisor
