#pragma once
// File operations of the root supervisor inside data_dir, a tree the run user can write.
// Every name is opened relative to a directory fd with O_NOFOLLOW, so neither a symlink
// nor a renamed parent planted by a (compromised) daemon redirects root: temp files are
// created with O_EXCL, replaced with renameat(2), removed with unlinkat(2); ownership is
// changed through an fd of the very inode that was checked (fchown / AT_EMPTY_PATH).
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace tern::supervisor {

// An owned file descriptor (-1 = none). Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens `path` as a directory (following symlinks in it: the admin chose the path).
// Throws std::runtime_error.
Fd open_dir(const std::filesystem::path& path);

// Opens (creating with `mode` if missing) the directory `name` in `parent`, never
// following a symlink: a symlink or other non-directory under that name is removed
// and replaced. Then makes it owned by uid:gid with `mode` (through the directory's
// own fd). Throws std::runtime_error naming `shown` (the path for messages).
Fd ensure_dir(int parent, const std::string& name, uid_t uid, gid_t gid, mode_t mode,
              const std::string& shown);

// Writes `content` to `name` in `dir` atomically: a temp file ".NAME.tmp" created with
// O_CREAT|O_EXCL|O_NOFOLLOW (anything already there under that name is unlinked
// first), written, fsynced, fchmod'ed to `mode`, then renamed over `name`.
// Returns "" or an error message.
std::string write_file_at(int dir, const std::string& name, const std::string& content,
                          mode_t mode);

// Reads `name` in `dir` if it is a regular file (O_NOFOLLOW, O_NONBLOCK: a symlink or a
// FIFO is refused, never followed or waited on), at most `max` bytes.
std::optional<std::string> read_file_at(int dir, const std::string& name, std::size_t max);

// Makes every entry below `dir` owned by uid:gid, never following a link: directories
// are opened with O_NOFOLLOW and changed through their fd; other entries are opened
// with O_PATH|O_NOFOLLOW, checked (a regular file or directory, a single hard link)
// and changed through that fd; symlinks, devices, FIFOs, sockets and files with more
// than one link are left alone. Top-level names in `skip` are not entered. Returns the
// number of entries changed. Throws std::runtime_error naming `shown`.
std::size_t chown_tree_at(int dir, uid_t uid, gid_t gid, const std::set<std::string>& skip,
                          const std::string& shown);

}  // namespace tern::supervisor
