#pragma once
// MaildropLock: the exclusive POP3 lock on one account's maildrop (RFC 1939 §8: "the
// POP3 server ... acquires an exclusive-access lock on the maildrop").
//
// It must hold across processes (several tern-pop3d may serve one store), so it is an
// flock(2) on data_dir/run/pop3-locks/<account id>. flock locks belong to the open file
// description: two sessions of one process conflict too, and the kernel releases the
// lock when the descriptor closes — also when the process crashes or is killed.
// The lock files are never removed (removing them would race with a new locker).
#include <cstdint>
#include <filesystem>
#include <system_error>

namespace tern::pop3d {

class MaildropLock {
 public:
  enum class Status { Locked, InUse, Error };

  MaildropLock() = default;
  ~MaildropLock();
  MaildropLock(MaildropLock&& o) noexcept;
  MaildropLock& operator=(MaildropLock&& o) noexcept;
  MaildropLock(const MaildropLock&) = delete;
  MaildropLock& operator=(const MaildropLock&) = delete;

  // Non-blocking attempt. Creates `dir` (mode 0700) if needed. InUse when another
  // holder has it; Error (with ec) when the file can't be created or locked.
  static Status acquire(const std::filesystem::path& dir, std::uint64_t account_id,
                        MaildropLock& out, std::error_code& ec);

  bool held() const { return fd_ >= 0; }
  void release();

 private:
  int fd_ = -1;
};

}  // namespace tern::pop3d
