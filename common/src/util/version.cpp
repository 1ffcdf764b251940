#include "tern/util/version.hpp"

#include <cstdio>
#include <cstring>

// TERN_VERSION comes from common/CMakeLists.txt; TERN_GIT_COMMIT lives in a source file
// CMake generates (version_commit.cpp), so a new commit recompiles one file only.
extern "C" const char tern_git_commit[];

namespace tern::util {

std::string_view version() { return TERN_VERSION; }

std::string_view git_commit() { return tern_git_commit[0] ? tern_git_commit : "unknown"; }

std::string version_line(std::string_view program) {
  std::string out(program);
  out += ' ';
  out += version();
  out += " (git ";
  out += git_commit();
  out += ')';
  return out;
}

bool print_version_if_asked(int argc, char** argv, std::string_view program) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;  // operands follow
    if (std::strcmp(argv[i], "--version") != 0) continue;
    std::printf("%s\n", version_line(program).c_str());
    return true;
  }
  return false;
}

}  // namespace tern::util
