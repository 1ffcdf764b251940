#pragma once
// Running the daemons as the unprivileged config `user` when tern starts as root
// (the Postfix master / single_server model: bind as root, serve as a user).
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "safe_fs.hpp"

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

// data_dir and root's directory in it, opened once at start.
struct DataDirs {
  Fd data;  // data_dir: owned by the run user (0750) when tern runs as root
  Fd run;   // data_dir/run: tern's own (root-owned 0755 as root): pid files
  Fd tls;   // data_dir/tls: tern's own (root-owned 0755 as root): the self-signed pair
};

// Creates data_dir if missing and opens it; then creates or takes over data_dir/run and
// data_dir/tls through that fd (O_NOFOLLOW: a symlink planted under either name is
// removed, a directory there is chowned to tern's own uid and chmod 0755 through its
// fd). As root, data_dir itself goes to `owner` (0750), and data_dir/run/pop3-locks is
// made for the daemons (owned by `owner`). Throws std::runtime_error.
DataDirs prepare_data_dir(const std::filesystem::path& data_dir, const std::optional<RunAs>& owner);

// Makes everything under data_dir but run/ and tls/ owned by `owner` (files a root
// ternctl or an earlier root run created would otherwise be unwritable for the
// daemons), with chown_tree_at: links are never followed. Throws std::runtime_error.
void chown_tree(const DataDirs& dirs, const std::filesystem::path& data_dir, const RunAs& owner);

// For each path, as `who` (in a forked child): 0 when access(path, mode) succeeds,
// else its errno. Throws std::runtime_error when the child cannot be run.
std::vector<int> access_as(const RunAs& who, const std::vector<std::pair<std::filesystem::path, int>>& checks);

// Checks, as `who` (in a forked child), that each path is readable (and, when
// `writable`, writable). Returns "" or a one-line message naming the first failure.
std::string check_access(const RunAs& who, const std::vector<std::filesystem::path>& readable,
                         const std::vector<std::filesystem::path>& writable);

// In a forked child before exec: setgroups({gid}), setgid, setuid, and checks that
// root can't be regained. Async-signal-safe. Returns false with errno set on failure.
bool drop_privileges(const RunAs& who);

}  // namespace tern::supervisor
