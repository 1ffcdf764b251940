// TERN_ASSERT stays on in release builds and aborts with the expression and file:line.
#include "tern/log/assert.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

TEST_CASE("TERN_ASSERT aborts with file:line, also in release builds", "[log][assert]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    int invariant = 1;
    TERN_ASSERT(invariant == 1);  // holds: nothing happens
    TERN_ASSERT(invariant == 2);
    _exit(0);  // not reached
  }
  close(fds[1]);
  std::string err;
  char buf[256];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(err.find("tern: assertion failed: invariant == 2 at ") != std::string::npos);
  CHECK(err.find("assert_test.cpp:21") != std::string::npos);
}
