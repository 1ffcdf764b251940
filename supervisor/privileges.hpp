#pragma once
// Running the daemons as the unprivileged config `user` when tern starts as root
// (the Postfix master / single_server model: bind as root, serve as a user).
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tern::supervisor {

struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The account to run daemons as. If `name` does not exist: for "tern" (the default)
// it is created with `useradd --system --no-create-home --shell /usr/sbin/nologin tern`;
// any other name is an error. Throws std::runtime_error with a one-line message.
RunAs resolve_user(const std::string& name);

// Creates data_dir and data_dir/run (mode 0750/0755). When `owner` is given, both are
// chowned to it so the daemons can write there. Throws std::runtime_error.
void make_data_dirs(const std::filesystem::path& data_dir, const std::optional<RunAs>& owner);

// Makes everything under data_dir owned by `owner` (files a root ternctl or an earlier
// root run created would otherwise be unwritable for the daemons). Symlinks are not
// followed. Throws std::runtime_error.
void chown_tree(const std::filesystem::path& data_dir, const RunAs& owner);

// Checks, as `who` (in a forked child), that each path is readable (and, when
// `writable`, writable). Returns "" or a one-line message naming the first failure.
std::string check_access(const RunAs& who, const std::vector<std::filesystem::path>& readable,
                         const std::vector<std::filesystem::path>& writable);

// In a forked child before exec: setgroups({gid}), setgid, setuid, and checks that
// root can't be regained. Async-signal-safe. Returns false with errno set on failure.
bool drop_privileges(const RunAs& who);

}  // namespace tern::supervisor
