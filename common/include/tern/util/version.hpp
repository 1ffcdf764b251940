#pragma once
// Version and build identity of every tern binary (`--version`, start-up log lines).
// The version comes from project(VERSION) in CMakeLists.txt, the git commit from
// `git rev-parse` when CMake configured the tree ("unknown" outside a git checkout).
#include <string>
#include <string_view>

namespace tern::util {

std::string_view version();     // "0.1.0"
std::string_view git_commit();  // "1a2b3c4d5e6f" (12 hex digits) or "unknown"

// "tern-mta 0.1.0 (git 1a2b3c4d5e6f)"
std::string version_line(std::string_view program);

// True when argv[1..] holds "--version"; then prints version_line(program) and a newline
// on stdout. Each binary's main calls it first and returns 0 when it is true.
bool print_version_if_asked(int argc, char** argv, std::string_view program);

}  // namespace tern::util
