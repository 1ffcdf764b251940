#include "privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace tern::supervisor {

namespace {

std::optional<RunAs> lookup(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* res = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  return RunAs{name, pw.pw_uid, pw.pw_gid};
}

void create_system_user(const std::string& name) {
  // Not via a shell: fixed argv, no quoting issues.
  const char* argv[] = {"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "useradd", nullptr, nullptr, const_cast<char* const*>(argv), environ);
  if (rc != 0)
    throw std::runtime_error("cannot run useradd to create user " + name + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("useradd failed to create user " + name);
}

}  // namespace

RunAs resolve_user(const std::string& name) {
  if (auto r = lookup(name)) {
    if (r->uid == 0) throw std::runtime_error("user " + name + " is root; set `user` to an unprivileged account");
    return *r;
  }
  if (name != "tern")
    throw std::runtime_error("user " + name + " (config `user`) does not exist; create it (useradd --system " +
                             name + ") or set `user` to an existing account");
  create_system_user(name);
  if (auto r = lookup(name)) return *r;
  throw std::runtime_error("user " + name + " still missing after useradd");
}

void make_data_dirs(const std::filesystem::path& data_dir, const std::optional<RunAs>& owner) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir / "run", ec);
  if (ec) throw std::runtime_error("cannot create " + (data_dir / "run").string() + ": " + ec.message());
  if (owner) {
    for (const auto& p : {data_dir, data_dir / "run"}) {
      if (::chown(p.c_str(), owner->uid, owner->gid) != 0)
        throw std::runtime_error("cannot chown " + p.string() + " to " + owner->name + ": " +
                                 std::strerror(errno));
    }
    ::chmod(data_dir.c_str(), 0750);
  }
}

bool drop_privileges(const RunAs& who) {
  gid_t groups[1] = {who.gid};
  if (::setgroups(1, groups) != 0) return false;
  if (::setgid(who.gid) != 0) return false;
  if (::setuid(who.uid) != 0) return false;
  // Paranoia (Postfix set_ugid): regaining root must fail now.
  if (::setuid(0) == 0) {
    errno = EPERM;
    return false;
  }
  return true;
}

}  // namespace tern::supervisor
