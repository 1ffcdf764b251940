#include "tern/pop3d/maildrop_lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>
#include <utility>

namespace tern::pop3d {

MaildropLock::~MaildropLock() { release(); }

MaildropLock::MaildropLock(MaildropLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

MaildropLock& MaildropLock::operator=(MaildropLock&& o) noexcept {
  if (this != &o) {
    release();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void MaildropLock::release() {
  if (fd_ >= 0) {
    // Closing the descriptor drops the flock; no explicit LOCK_UN needed.
    ::close(fd_);
    fd_ = -1;
  }
}

MaildropLock::Status MaildropLock::acquire(const std::filesystem::path& dir,
                                           std::uint64_t account_id, MaildropLock& out,
                                           std::error_code& ec) {
  ec.clear();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Error;
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  ec.clear();  // best effort: the directory may belong to another user when shared
  auto path = dir / std::to_string(account_id);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    ec = std::error_code(errno, std::generic_category());
    return Status::Error;
  }
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EINTR) continue;
    ::close(fd);
    if (e == EWOULDBLOCK) return Status::InUse;
    ec = std::error_code(e, std::generic_category());
    return Status::Error;
  }
  out.release();
  out.fd_ = fd;
  return Status::Locked;
}

}  // namespace tern::pop3d
