#pragma once
// expect_abort(fn): runs fn in a forked child with stderr captured and returns what the
// child wrote to stderr if it died by SIGABRT (a failed TERN_ASSERT), or "" if it lived or
// died otherwise. For tests that inject a bug (a call out of order) into a real state
// machine and check that it aborts loudly with file:line instead of going on.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

namespace tern::test {

template <class F>
std::string expect_abort(F fn) {
  int fds[2];
  if (::pipe(fds) != 0) return "";
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return "";
  if (pid == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    fn();
    ::_exit(0);  // the invariant held: not what the test wants
  }
  ::close(fds[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "";
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) return "";
  return err.empty() ? std::string("(aborted, nothing on stderr)") : err;
}

// True when `err` (from expect_abort) is TERN_ASSERT's line for `expr` in a file whose
// path ends with `file`.
inline bool assert_message(const std::string& err, const char* expr, const char* file) {
  return err.find(std::string("tern: assertion failed: ") + expr + " at ") != std::string::npos &&
         err.find(file) != std::string::npos;
}

}  // namespace tern::test
