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

DataDirs prepare_data_dir(const std::filesystem::path& data_dir, const std::optional<RunAs>& owner) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) throw std::runtime_error("cannot create " + data_dir.string() + ": " + ec.message());
  DataDirs d;
  d.data = open_dir(data_dir);
  if (owner) {
    if (::fchown(d.data.get(), owner->uid, owner->gid) != 0)
      throw std::runtime_error("cannot chown " + data_dir.string() + " to " + owner->name + ": " +
                               std::strerror(errno));
    ::fchmod(d.data.get(), 0750);
  }
  const uid_t me = ::geteuid();
  const gid_t my_group = ::getegid();
  d.run = ensure_dir(d.data.get(), "run", me, my_group, 0755, (data_dir / "run").string());
  d.tls = ensure_dir(d.data.get(), "tls", me, my_group, 0755, (data_dir / "tls").string());
  if (owner)
    ensure_dir(d.run.get(), "pop3-locks", owner->uid, owner->gid, 0750,
               (data_dir / "run" / "pop3-locks").string());
  return d;
}

void chown_tree(const DataDirs& dirs, const std::filesystem::path& data_dir, const RunAs& owner) {
  chown_tree_at(dirs.data.get(), owner.uid, owner.gid, {"run", "tls"}, data_dir.string());
}

std::vector<int> access_as(const RunAs& who, const std::vector<std::pair<std::filesystem::path, int>>& checks) {
  // The child writes one errno per check through a pipe.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> paths;
  for (auto& [p, m] : checks) paths.push_back(p.string());
  std::vector<int> result(checks.size() + 1, 0);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(fds[0]);
    if (!drop_privileges(who)) {
      result[0] = errno;
    } else {
      for (std::size_t i = 0; i < checks.size(); ++i)
        result[i + 1] = ::access(paths[i].c_str(), checks[i].second) == 0 ? 0 : errno;
    }
    [[maybe_unused]] auto n = ::write(fds[1], result.data(), result.size() * sizeof(int));
    ::_exit(0);
  }
  ::close(fds[1]);
  std::size_t want = result.size() * sizeof(int);
  ssize_t n = ::read(fds[0], result.data(), want);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(want)) throw std::runtime_error("cannot check file access as " + who.name);
  if (result[0] != 0)
    throw std::runtime_error("cannot switch to user " + who.name + ": " + std::strerror(result[0]));
  return std::vector<int>(result.begin() + 1, result.end());
}

std::string check_access(const RunAs& who, const std::vector<std::filesystem::path>& readable,
                         const std::vector<std::filesystem::path>& writable) {
  std::vector<std::pair<std::filesystem::path, int>> checks;
  for (auto& p : readable) checks.emplace_back(p, R_OK);
  for (auto& p : writable) checks.emplace_back(p, R_OK | W_OK | X_OK);
  std::vector<int> errs;
  try {
    errs = access_as(who, checks);
  } catch (const std::exception& e) {
    return e.what();
  }
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (errs[i] == 0) continue;
    return "user " + who.name + " cannot " + (checks[i].second == R_OK ? "read " : "write in ") +
           checks[i].first.string() + ": " + std::strerror(errs[i]) + " (the daemons run as " + who.name +
           "; check the permissions of the file and of every directory above it)";
  }
  return "";
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
