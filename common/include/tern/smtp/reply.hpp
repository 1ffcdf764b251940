#pragma once
// SMTP replies with enhanced status codes (RFC 5321 §4.2, RFC 3463, RFC 2034).
// Pure: no I/O. A Reply formats to one or more CRLF-terminated lines:
//   "250-first\r\n250 last\r\n"; the enhanced code is put on every line when set.
#include <string>
#include <string_view>
#include <vector>

namespace tern::smtp {

// Enhanced status codes used by tern (RFC 3463 subjects, RFC 4954, RFC 6531, RFC 5248).
namespace esc {
inline constexpr std::string_view none = "";
inline constexpr std::string_view ok = "2.0.0";
inline constexpr std::string_view sender_ok = "2.1.0";
inline constexpr std::string_view rcpt_ok = "2.1.5";
inline constexpr std::string_view queued = "2.6.0";
inline constexpr std::string_view auth_ok = "2.7.0";
inline constexpr std::string_view bye = "2.0.0";
inline constexpr std::string_view other_temp = "4.0.0";
inline constexpr std::string_view mailbox_full_temp = "4.2.2";
inline constexpr std::string_view system_temp = "4.3.0";
inline constexpr std::string_view system_full = "4.3.1";    // RFC 3463: mail system full
inline constexpr std::string_view shutting_down = "4.3.2";
inline constexpr std::string_view too_many_rcpts = "4.5.3";
inline constexpr std::string_view timeout = "4.4.2";
inline constexpr std::string_view security_temp = "4.7.0";
inline constexpr std::string_view bad_mailbox = "5.1.1";       // no such user
inline constexpr std::string_view bad_dest_syntax = "5.1.3";   // RCPT address syntax
inline constexpr std::string_view bad_sender_syntax = "5.1.7"; // MAIL address syntax
inline constexpr std::string_view mailbox_disabled = "5.2.1";
inline constexpr std::string_view mailbox_full = "5.2.2";
inline constexpr std::string_view too_big = "5.3.4";
inline constexpr std::string_view routing_loop = "5.4.6";     // RFC 3463: too many hops
inline constexpr std::string_view invalid_command = "5.5.1";
inline constexpr std::string_view syntax_error = "5.5.2";
inline constexpr std::string_view bad_args = "5.5.4";
inline constexpr std::string_view media_error = "5.6.0";
inline constexpr std::string_view non_ascii_address = "5.6.7";  // RFC 6531 §3.5
inline constexpr std::string_view security = "5.7.0";
inline constexpr std::string_view not_authorized = "5.7.1";     // relay / sender ownership
inline constexpr std::string_view auth_invalid = "5.7.8";       // RFC 4954 §6
inline constexpr std::string_view auth_required = "5.7.0";      // 530 5.7.0, RFC 4954 §6
inline constexpr std::string_view encryption_required = "5.7.11";  // RFC 5248 / 4954 538
inline constexpr std::string_view perm_error = "5.0.0";
}  // namespace esc

struct Reply {
  int code = 0;                    // 3-digit SMTP code; 0 = no reply
  std::string esc;                 // "5.1.1" or empty
  std::vector<std::string> lines;  // at least one text line when code != 0

  Reply() = default;
  Reply(int c, std::string_view e, std::string_view text) : code(c), esc(e), lines{std::string(text)} {}
  bool empty() const { return code == 0; }
  bool positive() const { return code >= 200 && code < 400; }
  bool permanent() const { return code >= 500; }
  bool temporary() const { return code >= 400 && code < 500; }
  // "250-a\r\n250 b\r\n". Enhanced code prepended to each line when esc is set.
  std::string format() const;
  // First line without the CRLF (for logs): "550 5.1.1 No such user".
  std::string summary() const;
};

inline Reply reply(int code, std::string_view e, std::string_view text) { return Reply(code, e, text); }

}  // namespace tern::smtp
