// safe_fs: what root does in a directory the run user can write never goes through a
// planted symlink or hard link.
#include "../safe_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace tern::supervisor;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tern-safefs-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("write_file_at replaces a planted symlink and leaves its target alone", "[supervisor][safe_fs]") {
  TempDir t;
  const fs::path target = t.path / "precious";
  { std::ofstream(target) << "keep me\n"; }
  fs::create_directory(t.path / "run");
  fs::create_symlink(target, t.path / "run" / ".tern-mta.pid.tmp");
  fs::create_symlink(target, t.path / "run" / "tern-mta.pid");
  Fd run = open_dir(t.path / "run");
  CHECK(write_file_at(run.get(), "tern-mta.pid", "42\n", 0644) == "");
  CHECK(slurp(target) == "keep me\n");
  CHECK(!fs::is_symlink(t.path / "run" / "tern-mta.pid"));
  CHECK(slurp(t.path / "run" / "tern-mta.pid") == "42\n");
  CHECK(!fs::exists(t.path / "run" / ".tern-mta.pid.tmp"));
  // reading never follows one either
  fs::create_symlink(target, t.path / "run" / "tern.pid");
  CHECK(!read_file_at(run.get(), "tern.pid", 100));
  CHECK(read_file_at(run.get(), "tern-mta.pid", 100) == "42\n");
}

TEST_CASE("ensure_dir removes a symlink planted where the directory belongs", "[supervisor][safe_fs]") {
  TempDir t;
  fs::create_directory(t.path / "elsewhere");
  fs::create_directory_symlink(t.path / "elsewhere", t.path / "run");
  Fd data = open_dir(t.path);
  Fd run = ensure_dir(data.get(), "run", ::geteuid(), ::getegid(), 0755, "run");
  CHECK(fs::is_directory(fs::symlink_status(t.path / "run")));
  CHECK(write_file_at(run.get(), "x", "1", 0644) == "");
  CHECK(fs::is_empty(t.path / "elsewhere"));
  CHECK((fs::status(t.path / "run").permissions() & fs::perms::all) == static_cast<fs::perms>(0755));
}

TEST_CASE("chown_tree_at never follows a link and skips what it is told to", "[supervisor][safe_fs]") {
  if (::geteuid() != 0) {
    WARN("SKIP: chown needs root");
    return;
  }
  TempDir t;
  const fs::path target = t.path / "outside";
  { std::ofstream(target) << "root's\n"; }
  const fs::path data = t.path / "data";
  fs::create_directories(data / "store");
  fs::create_directories(data / "run");
  { std::ofstream(data / "store" / "data.mdb") << "x"; }
  { std::ofstream(data / "run" / "tern.pid") << "1\n"; }
  fs::create_symlink(target, data / "store" / "link");
  fs::create_hard_link(target, data / "store" / "hard");
  fs::create_directory_symlink(t.path, data / "up");
  Fd d = open_dir(data);
  const uid_t uid = 65534;
  const gid_t gid = 65534;
  std::size_t n = chown_tree_at(d.get(), uid, gid, {"run"}, data.string());
  CHECK(n == 2);  // store/ and store/data.mdb
  struct stat st {};
  REQUIRE(::stat((data / "store" / "data.mdb").c_str(), &st) == 0);
  CHECK(st.st_uid == uid);
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);  // neither the symlink nor the hard link was followed
  REQUIRE(::stat((data / "run" / "tern.pid").c_str(), &st) == 0);
  CHECK(st.st_uid == 0);  // skipped
  REQUIRE(::stat(t.path.c_str(), &st) == 0);
  CHECK(st.st_uid == 0);
}
