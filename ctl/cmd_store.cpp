// ternctl stats, check, backup DIR, restore DIR.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "commands.hpp"

namespace tern::ctl {

namespace {
using store::Errc;
namespace fs = std::filesystem;

// Running daemons, from the supervisor's pid files (data_dir/run/*.pid).
std::vector<std::string> running_daemons(const fs::path& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir / "run", ec)) {
    if (e.path().extension() != ".pid") continue;
    std::ifstream in(e.path());
    long pid = 0;
    if (in >> pid && pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM))
      out.push_back(e.path().stem().string() + " (pid " + std::to_string(pid) + ")");
  }
  return out;
}

bool copy_file_synced(const fs::path& from, const fs::path& to, mode_t mode, std::string& err) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    err = from.string() + ": " + std::strerror(errno);
    return false;
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (out < 0) {
    err = to.string() + ": " + std::strerror(errno);
    ::close(in);
    return false;
  }
  char buf[1 << 16];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    for (ssize_t off = 0; off < n && ok;) {
      ssize_t w = ::write(out, buf + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) ok = false;
      else off += w;
    }
    if (!ok) break;
  }
  if (ok && ::fchmod(out, mode) != 0) ok = false;
  if (ok && ::fsync(out) != 0) ok = false;
  if (!ok) err = to.string() + ": " + std::strerror(errno);
  ::close(out);
  ::close(in);
  return ok;
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

// The live store's file mode without world bits (0600, or 0640 when group-readable).
mode_t live_mode(const fs::path& data_dir) {
  struct stat st {};
  if (::stat((data_dir / "store" / "data.mdb").c_str(), &st) != 0) return 0600;
  return (st.st_mode & 0640) | 0600;
}

}  // namespace

int stats_cmd(const Args& a, Context& ctx) {
  if (!a.pos.empty()) return fail("usage: ternctl stats", kUsage);
  auto r = ctx.store->stats();
  if (!r) return fail_store(r.error(), "");
  auto& x = *r;
  std::printf("domains: %llu\naccounts: %llu\naliases: %llu\nmailboxes: %llu\nmessages: %llu\n",
              static_cast<unsigned long long>(x.domains), static_cast<unsigned long long>(x.accounts),
              static_cast<unsigned long long>(x.aliases), static_cast<unsigned long long>(x.mailboxes),
              static_cast<unsigned long long>(x.messages));
  std::printf("bodies: %llu (%s)\nqueue: %llu\nevents: %llu\nfile: %s (in use %s)\nschema: %u\n",
              static_cast<unsigned long long>(x.blobs), human_size(x.blob_bytes).c_str(),
              static_cast<unsigned long long>(x.queue), static_cast<unsigned long long>(x.events),
              human_size(x.file_bytes).c_str(), human_size(x.used_bytes).c_str(), x.schema_version);
  return kOk;
}

int check_cmd(const Args& a, Context& ctx) {
  if (!a.pos.empty()) return fail("usage: ternctl check [--repair]", kUsage);
  bool repair = a.has("--repair");
  auto r = ctx.store->check(repair);
  if (!r) return fail_store(r.error(), "");
  if (r->empty()) {
    std::printf("ok: no invariant breaches\n");
    return kOk;
  }
  bool unrepaired = false;
  for (auto& i : *r) {
    std::printf("%s: %s\n", i.repaired ? "repaired" : "breach", i.what.c_str());
    unrepaired = unrepaired || !i.repaired;
  }
  return unrepaired ? kDataErr : kOk;
}

int backup_cmd(const Args& a, Context& ctx) {
  int st = kOk;
  if (!need(a, 1, "backup DIR", st)) return st;
  fs::path dir = a.pos[0];
  // The copy holds password hashes: owner-only directories and the live file's mode
  // (0600/0640), never the umask's 0644.
  const mode_t old = ::umask(077);
  auto r = ctx.store->backup(dir);
  ::umask(old);
  if (!r) {
    if (r.error() == Errc::exists) return fail("backup directory is not empty: " + (dir / "store").string());
    return fail_store(r.error(), dir.string());
  }
  const fs::path file = dir / "store" / "data.mdb";
  if (::chmod(file.c_str(), live_mode(ctx.data_dir)) != 0 || ::chmod((dir / "store").c_str(), 0700) != 0)
    return fail("cannot set the mode of " + file.string() + ": " + std::strerror(errno), kTempFail);
  std::printf("backup written: %s\n", file.c_str());
  return kOk;
}

int restore_cmd(const Args& a, Context& ctx) {
  int st = kOk;
  if (!need(a, 1, "restore DIR (the daemons stopped)", st)) return st;
  const fs::path src = fs::path(a.pos[0]) / "store" / "data.mdb";
  std::error_code ec;
  if (!fs::is_regular_file(src, ec)) return fail("no backup in " + a.pos[0] + " (expected " + src.string() + ")");
  if (auto run = running_daemons(ctx.data_dir); !run.empty()) {
    std::string list;
    for (auto& d : run) list += (list.empty() ? "" : ", ") + d;
    return fail("stop tern first: running " + list, kTempFail);
  }
  // The backup must open as a store (right format, schema this binary knows).
  {
    auto b = store::Store::open(a.pos[0]);
    if (!b) return fail("not a usable backup: " + src.string() + ": " + b.error().message());
    auto issues = (*b)->check(false);
    if (!issues) return fail_store(issues.error(), src.string());
    if (!issues->empty()) return fail("the backup fails ternctl check: " + issues->front().what);
  }
  const fs::path store_dir = ctx.data_dir / "store";
  fs::create_directories(store_dir, ec);
  if (ec) return fail("cannot create " + store_dir.string() + ": " + ec.message(), kTempFail);
  const fs::path live = store_dir / "data.mdb", tmp = store_dir / "data.mdb.restore-tmp",
                 kept = store_dir / "data.mdb.before-restore";
  fs::remove(tmp, ec);
  std::string err;
  if (!copy_file_synced(src, tmp, live_mode(ctx.data_dir), err)) {
    fs::remove(tmp, ec);
    return fail("restore failed: " + err, kTempFail);
  }
  // The replaced store is kept beside it until the admin removes it.
  if (fs::exists(live, ec)) {
    fs::remove(kept, ec);
    fs::rename(live, kept, ec);
    if (ec) return fail("cannot move the old store aside: " + ec.message(), kTempFail);
  }
  fs::rename(tmp, live, ec);
  if (ec) return fail("cannot put the restored store in place: " + ec.message(), kTempFail);
  // The reader table belongs to the old file; LMDB makes a fresh one.
  fs::remove(store_dir / "lock.mdb", ec);
  fsync_dir(store_dir);
  std::printf("store restored from %s into %s (the previous one is %s)\n", src.c_str(), live.c_str(),
              fs::exists(kept) ? kept.c_str() : "none");
  return kOk;
}

}  // namespace tern::ctl
