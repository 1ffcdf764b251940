/* send_delay_shim.so — an LD_PRELOAD library for integration tests, never linked into
 * tern: after a send(2), sendmsg(2), write(2) or writev(2) whose bytes contain a given
 * text, the calling thread sleeps before the call returns. The peer already has the
 * bytes; the daemon's thread is held, as the scheduler holds it on a loaded machine
 * between the write and the code after it. A test uses it to make such a window wide
 * enough to hit every time.
 *
 *   TERN_SEND_DELAY_MATCH=TEXT  the text to look for (unset: the shim does nothing)
 *   TERN_SEND_DELAY_MS=N        how long to sleep (default 500)
 *
 * The real functions are found with dlsym(RTLD_NEXT). Only the bytes of one call are
 * searched, which is enough for a reply line written in one piece. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int contains(const void* data, size_t len) {
  const char* m = getenv("TERN_SEND_DELAY_MATCH");
  if (!m || !*m || len == 0) return 0;
  return memmem(data, len, m, strlen(m)) != NULL;
}

static void delay(void) {
  const char* t = getenv("TERN_SEND_DELAY_MS");
  long ms = t ? strtol(t, NULL, 10) : 500;
  if (ms <= 0) ms = 500;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int iov_contains(const struct iovec* iov, int n, ssize_t sent) {
  for (int i = 0; i < n && sent > 0; ++i) {
    size_t len = iov[i].iov_len < (size_t)sent ? iov[i].iov_len : (size_t)sent;
    if (contains(iov[i].iov_base, len)) return 1;
    sent -= (ssize_t)len;
  }
  return 0;
}

ssize_t send(int fd, const void* buf, size_t len, int flags) {
  static ssize_t (*real)(int, const void*, size_t, int);
  if (!real) real = (ssize_t(*)(int, const void*, size_t, int))dlsym(RTLD_NEXT, "send");
  ssize_t r = real(fd, buf, len, flags);
  if (r > 0 && contains(buf, (size_t)r)) delay();
  return r;
}

ssize_t write(int fd, const void* buf, size_t len) {
  static ssize_t (*real)(int, const void*, size_t);
  if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  ssize_t r = real(fd, buf, len);
  if (r > 0 && contains(buf, (size_t)r)) delay();
  return r;
}

ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  static ssize_t (*real)(int, const struct msghdr*, int);
  if (!real) real = (ssize_t(*)(int, const struct msghdr*, int))dlsym(RTLD_NEXT, "sendmsg");
  ssize_t r = real(fd, msg, flags);
  if (r > 0 && iov_contains(msg->msg_iov, (int)msg->msg_iovlen, r)) delay();
  return r;
}

ssize_t writev(int fd, const struct iovec* iov, int n) {
  static ssize_t (*real)(int, const struct iovec*, int);
  if (!real) real = (ssize_t(*)(int, const struct iovec*, int))dlsym(RTLD_NEXT, "writev");
  ssize_t r = real(fd, iov, n);
  if (r > 0 && iov_contains(iov, n, r)) delay();
  return r;
}
