#pragma once
// Inherited listening sockets. When started as root, the supervisor binds the
// privileged ports itself and passes the sockets to a daemon in the environment:
//   TERN_LISTEN_FDS="127.0.0.1:25=3,[::1]:25=4"
// (endpoint text as config::Endpoint::text() = fd). The Server uses such an fd
// instead of binding when a listener's endpoint matches. Pure (no Asio).
#include <map>
#include <string>
#include <string_view>

namespace tern::net {

inline constexpr const char* kListenFdsEnv = "TERN_LISTEN_FDS";

// Parses the variable's value. Malformed entries are skipped and named in
// `bad` (comma separated) when given.
std::map<std::string, int> parse_listen_fds(std::string_view text, std::string* bad = nullptr);

}  // namespace tern::net
