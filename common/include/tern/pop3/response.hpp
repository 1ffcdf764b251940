#pragma once
// POP3 status lines (RFC 1939 §3) with RFC 2449 §8 / RFC 3206 response codes. Pure.
//   ok("2 320")                         -> "+OK 2 320\r\n"
//   err(RespCode::InUse, "maildrop locked") -> "-ERR [IN-USE] maildrop locked\r\n"
// Text must not contain CR or LF (callers pass fixed strings or sanitised values;
// sanitise_text() replaces control characters with '?').
#include <string>
#include <string_view>

namespace tern::pop3 {

enum class RespCode {
  None,
  InUse,       // RFC 2449 §8.1.2: maildrop already locked by another session
  LoginDelay,  // RFC 2449 §8.1.1: logged in too recently
  SysTemp,     // RFC 3206 §4: temporary system problem (incl. throttled logins)
  SysPerm,     // RFC 3206 §4: permanent problem (e.g. plaintext auth refused)
  Auth         // RFC 3206 §5: the credentials were wrong or the account is disabled
};

// "IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM", "AUTH"; "" for None.
std::string_view resp_code_text(RespCode c);

std::string ok(std::string_view text = {});
std::string err(std::string_view text);
std::string err(RespCode code, std::string_view text);

// Appending forms, for building pipelined replies in one buffer.
void append_ok(std::string& out, std::string_view text = {});
void append_err(std::string& out, RespCode code, std::string_view text);

// Copy of s with every octet < 0x20 or 0x7f replaced by '?', at most max octets.
std::string sanitise_text(std::string_view s, std::size_t max = 100);

}  // namespace tern::pop3
