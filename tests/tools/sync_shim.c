/* sync_shim.so — an LD_PRELOAD library for integration tests, never linked into tern:
 * counts fsync(2), fdatasync(2) and msync(2) calls of the process it is preloaded into,
 * and can make them stall, as a slow or stuck disk would.
 *
 *   TERN_SYNC_COUNT=FILE      after each call FILE holds "fsync fdatasync msync\n"
 *                             (three decimal counters, rewritten in place)
 *   TERN_SYNC_STALL=FILE      while FILE exists, each call first sleeps
 *   TERN_SYNC_STALL_MS=N      for N milliseconds (default 3000)
 *   TERN_SYNC_STALL_LOG=FILE  a line "stall\n" is appended to FILE as each stall begins,
 *                             so a test knows a writer is stuck before it measures
 *   TERN_SYNC_DSYNC_COUNT=FILE  after each pwrite(2) to a descriptor opened O_DSYNC (or
 *                             O_SYNC), FILE holds "N\n", the count of such writes. LMDB
 *                             writes its meta page that way when a commit syncs it (not
 *                             under MDB_NOMETASYNC), so this counts meta-page syncs.
 *
 * The real functions are found with dlsym(RTLD_NEXT). LMDB commits with fdatasync(2) on
 * Linux (its meta page is written through an O_DSYNC descriptor), so fdatasync counts
 * store commits. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long counts[3];  /* fsync, fdatasync, msync */

static void stall_if_asked(void) {
  const char* flag = getenv("TERN_SYNC_STALL");
  struct stat st;
  if (!flag || stat(flag, &st) != 0) return;
  const char* log = getenv("TERN_SYNC_STALL_LOG");
  if (log) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t n = write(fd, "stall\n", 6);
      (void)n;
      close(fd);
    }
  }
  const char* ms_text = getenv("TERN_SYNC_STALL_MS");
  long ms = ms_text ? strtol(ms_text, NULL, 10) : 3000;
  if (ms <= 0) ms = 3000;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void count(int which) {
  const char* path = getenv("TERN_SYNC_COUNT");
  pthread_mutex_lock(&mu);
  ++counts[which];
  if (path) {
    char buf[96];
    int len = snprintf(buf, sizeof buf, "%20llu %20llu %20llu\n", counts[0], counts[1], counts[2]);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t n = pwrite(fd, buf, (size_t)len, 0);
      (void)n;
      close(fd);
    }
  }
  pthread_mutex_unlock(&mu);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  stall_if_asked();
  int rc = real(fd);
  count(0);
  return rc;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  stall_if_asked();
  int rc = real(fd);
  count(1);
  return rc;
}

int msync(void* addr, size_t len, int flags) {
  static int (*real)(void*, size_t, int);
  if (!real) real = (int (*)(void*, size_t, int))dlsym(RTLD_NEXT, "msync");
  stall_if_asked();
  int rc = real(addr, len, flags);
  count(2);
  return rc;
}

/* pwrite(2) and pwrite64 (the same call on 64-bit Linux; a library may bind either). */
static pthread_mutex_t dsync_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long dsync_writes;

static void count_dsync(int fd) {
  const char* path = getenv("TERN_SYNC_DSYNC_COUNT");
  if (!path) return;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || !(fl & O_DSYNC)) return; /* O_SYNC includes the O_DSYNC bit on Linux */
  pthread_mutex_lock(&dsync_mu);
  ++dsync_writes;
  char buf[32];
  int len = snprintf(buf, sizeof buf, "%20llu\n", dsync_writes);
  int out = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (out >= 0) {
    static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
    if (!real_pwrite) real_pwrite = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    ssize_t n = real_pwrite(out, buf, (size_t)len, 0);
    (void)n;
    close(out);
  }
  pthread_mutex_unlock(&dsync_mu);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t off) {
  static ssize_t (*real)(int, const void*, size_t, off_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
  ssize_t rc = real(fd, buf, count, off);
  count_dsync(fd);
  return rc;
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t off) {
  static ssize_t (*real)(int, const void*, size_t, off64_t);
  if (!real) real = (ssize_t (*)(int, const void*, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
  ssize_t rc = real(fd, buf, count, off);
  count_dsync(fd);
  return rc;
}
