#include "safe_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace tern::supervisor {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& shown) {
  throw std::runtime_error("cannot " + what + " " + shown + ": " + std::strerror(errno));
}

constexpr int kMaxDepth = 32;  // data_dir is shallow; a deeper tree is not ours

std::size_t walk(int dir, uid_t uid, gid_t gid, const std::set<std::string>* skip,
                 const std::string& shown, int depth) {
  if (depth > kMaxDepth) return 0;
  int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) fail("read", shown);
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    fail("read", shown);
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (skip && skip->count(n)) continue;
    names.push_back(std::move(n));
  }
  ::closedir(d);

  std::size_t changed = 0;
  for (const auto& n : names) {
    const std::string sub = shown + "/" + n;
    Fd fd(::openat(dir, n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // gone meanwhile
      fail("open", sub);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("stat", sub);
    if (S_ISDIR(st.st_mode)) {
      // Reopen for reading: O_DIRECTORY|O_NOFOLLOW refuses anything swapped in since.
      Fd dfd(::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dfd) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
        fail("open", sub);
      }
      struct stat dst {};
      if (::fstat(dfd.get(), &dst) != 0) fail("stat", sub);
      if (dst.st_uid != uid || dst.st_gid != gid) {
        if (::fchown(dfd.get(), uid, gid) != 0) fail("chown", sub);
        ++changed;
      }
      changed += walk(dfd.get(), uid, gid, nullptr, sub, depth + 1);
    } else if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
      if (st.st_uid == uid && st.st_gid == gid) continue;
      // The inode just checked, whatever the name points at now.
      if (::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0) fail("chown", sub);
      ++changed;
    }
    // Symlinks, hard-linked files, devices, FIFOs, sockets: never touched.
  }
  return changed;
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd open_dir(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail("open", path.string());
  return fd;
}

Fd ensure_dir(int parent, const std::string& name, uid_t uid, gid_t gid, mode_t mode,
              const std::string& shown) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Fd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) {
        if (::mkdirat(parent, name.c_str(), mode) != 0 && errno != EEXIST) fail("create", shown);
        continue;
      }
      if (errno == ELOOP || errno == ENOTDIR) {
        // A symlink or a file where our directory belongs: remove the entry itself.
        if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) fail("remove", shown);
        continue;
      }
      fail("open", shown);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail("stat", shown);
    if ((st.st_uid != uid || st.st_gid != gid) && ::fchown(fd.get(), uid, gid) != 0)
      fail("chown", shown);
    if ((st.st_mode & 07777) != mode && ::fchmod(fd.get(), mode) != 0) fail("chmod", shown);
    return fd;
  }
  errno = EAGAIN;
  fail("create", shown);
}

std::string write_file_at(int dir, const std::string& name, const std::string& content,
                          mode_t mode) {
  const std::string tmp = "." + name + ".tmp";
  auto err = [&](const char* what) {
    return std::string("cannot ") + what + " " + tmp + ": " + std::strerror(errno);
  };
  if (::unlinkat(dir, tmp.c_str(), 0) != 0 && errno != ENOENT) return err("remove");
  // O_EXCL: if anything (a symlink, a hard link) appears under the name meanwhile, the
  // create fails instead of writing through it.
  Fd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return err("create");
  if (::fchmod(fd.get(), mode) != 0) return err("chmod");
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t w = ::write(fd.get(), p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ::unlinkat(dir, tmp.c_str(), 0);
      return err("write");
    }
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  if (::fsync(fd.get()) != 0) return err("fsync");
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
    std::string e = std::string("cannot rename ") + tmp + " to " + name + ": " + std::strerror(errno);
    ::unlinkat(dir, tmp.c_str(), 0);
    return e;
  }
  return {};
}

std::optional<std::string> read_file_at(int dir, const std::string& name, std::size_t max) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < max) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, max - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::size_t chown_tree_at(int dir, uid_t uid, gid_t gid, const std::set<std::string>& skip,
                          const std::string& shown) {
  return walk(dir, uid, gid, &skip, shown, 0);
}

}  // namespace tern::supervisor
