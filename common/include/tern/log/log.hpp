#pragma once
// tern logging: spdlog to stderr, one line per event, the event's id first.
//
//   tern::log::init(cfg, "tern-mta");            // once, at daemon start
//   tern::log::session(id, peer, "connect");     // "4F2A9C 127.0.0.1:5000: connect"
//   tern::log::info(id, "from=<{}>, size={}", from, size);  // "4F2A9C: from=<a@b>, size=12"
//   spdlog::warn(...)                            // plain spdlog works too
//
// Line format: "2024-05-01 12:00:00.123+0200 tern-mta[1234] info: <message>" (local
// time with its UTC offset, so lines from hosts in other zones or across a DST change
// compare).
// Rules (style.md "Logging"): never log passwords, AUTH payloads or message bodies.
// Log protocol command lines through mask_auth(), which replaces credentials with
// "********"; a SASL continuation line (the client's base64 answer) is never logged:
// log `masked` instead.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <utility>

namespace tern::config {
struct Config;
}

namespace tern::log {

// Replaces credentials in logged lines.
inline constexpr std::string_view masked = "********";

// Sets up the default spdlog logger: stderr (colour when a tty), the pattern above with
// `daemon` and the pid, level from [log] level. Safe to call again (replaces the logger).
void init(const config::Config& cfg, std::string_view daemon);
// Same without a Config (tools, tests): `level` is trace|debug|info|warn|error|off.
void init(std::string_view level, std::string_view daemon);

// "trace" "debug" "info" "warn" "error" "critical" "off" -> level; false if unknown.
bool parse_level(std::string_view name, spdlog::level::level_enum& out);

// A short unique id for a session or a message ("4F2A9C01D3"): random per process start,
// then a counter; thread-safe.
std::string next_id();

// A value that came from a peer (a command line, HELO name, address, user name), safe
// to put in a log line: printable ASCII and well-formed UTF-8 stay; control characters
// (CR, LF, TAB, ESC, DEL ...), C1 controls (U+0080..U+009F), U+2028/U+2029 (line and
// paragraph separators), bytes of malformed UTF-8 and the backslash itself become
// "\xNN" / "\\", so a peer cannot forge a line, colour the terminal or hide text.
// Output is cut at `max` octets of input ("..." marks the cut). Pure.
std::string escape(std::string_view value, std::size_t max = 512);

// Returns `line` (a client command without CRLF) safe to log: the credential argument of
// SMTP "AUTH <mech> <initial-response>", POP3 "PASS x" / "AUTH <mech> <ir>" / "APOP user
// digest", IMAP "<tag> LOGIN user pass" / "<tag> AUTHENTICATE <mech> <ir>" becomes
// "********". Other lines are returned unchanged. Case-insensitive verbs; words are
// split on any whitespace (space, TAB, ...), as the parsers may. Pure.
std::string mask_auth(std::string_view line);

// One event of session `id` from `peer` ("127.0.0.1:5000"): "<id> <peer>: <message>".
template <typename... Args>
void session(std::string_view id, std::string_view peer,
             spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!spdlog::should_log(spdlog::level::info)) return;
  spdlog::info("{} {}: {}", id, peer, fmt::format(fmt, std::forward<Args>(args)...));
}

// "<id>: <message>" at a given level (id = session or message id).
template <typename... Args>
void event(spdlog::level::level_enum lvl, std::string_view id,
           spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!spdlog::should_log(lvl)) return;
  spdlog::log(lvl, "{}: {}", id, fmt::format(fmt, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(std::string_view id, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  event(spdlog::level::debug, id, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::string_view id, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  event(spdlog::level::info, id, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(std::string_view id, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  event(spdlog::level::warn, id, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void error(std::string_view id, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  event(spdlog::level::err, id, fmt, std::forward<Args>(args)...);
}

}  // namespace tern::log
