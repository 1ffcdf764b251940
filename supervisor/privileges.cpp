#include "privileges.hpp"

#include <fcntl.h>
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

void chown_tree(const std::filesystem::path& data_dir, const RunAs& owner) {
  std::error_code ec;
  auto fix = [&](const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return;
    if (st.st_uid == owner.uid && st.st_gid == owner.gid) return;
    if (::lchown(p.c_str(), owner.uid, owner.gid) != 0)
      throw std::runtime_error("cannot chown " + p.string() + " to " + owner.name + ": " +
                               std::strerror(errno));
  };
  fix(data_dir);
  for (auto it = std::filesystem::recursive_directory_iterator(data_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    fix(it->path());
  if (ec) throw std::runtime_error("cannot walk " + data_dir.string() + ": " + ec.message());
}

std::string check_access(const RunAs& who, const std::vector<std::filesystem::path>& readable,
                         const std::vector<std::filesystem::path>& writable) {
  // The child reports the index of the first failing path through a pipe.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  std::vector<std::pair<std::string, int>> checks;
  for (auto& p : readable) checks.emplace_back(p.string(), R_OK);
  for (auto& p : writable) checks.emplace_back(p.string(), R_OK | W_OK | X_OK);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::close(fds[0]);
    int result[2] = {-1, 0};
    if (!drop_privileges(who)) {
      result[0] = -2;
      result[1] = errno;
    } else {
      for (std::size_t i = 0; i < checks.size(); ++i) {
        if (::access(checks[i].first.c_str(), checks[i].second) != 0) {
          result[0] = static_cast<int>(i);
          result[1] = errno;
          break;
        }
      }
    }
    [[maybe_unused]] auto n = ::write(fds[1], result, sizeof result);
    ::_exit(0);
  }
  ::close(fds[1]);
  int result[2] = {-1, 0};
  [[maybe_unused]] auto n = ::read(fds[0], result, sizeof result);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (result[0] == -2) return "cannot switch to user " + who.name + ": " + std::strerror(result[1]);
  if (result[0] < 0) return "";
  const auto& [path, mode] = checks[static_cast<std::size_t>(result[0])];
  return "user " + who.name + " cannot " + (mode == R_OK ? "read " : "write in ") + path + ": " +
         std::strerror(result[1]) + " (the daemons run as " + who.name +
         "; check the permissions of the file and of every directory above it)";
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
