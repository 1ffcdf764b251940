#include "tern/pop3/response.hpp"

#include <algorithm>

namespace tern::pop3 {

std::string_view resp_code_text(RespCode c) {
  switch (c) {
    case RespCode::None: return "";
    case RespCode::InUse: return "IN-USE";
    case RespCode::LoginDelay: return "LOGIN-DELAY";
    case RespCode::SysTemp: return "SYS/TEMP";
    case RespCode::SysPerm: return "SYS/PERM";
    case RespCode::Auth: return "AUTH";
  }
  return "";
}

void append_ok(std::string& out, std::string_view text) {
  out += "+OK";
  if (!text.empty()) {
    out += ' ';
    out += text;
  }
  out += "\r\n";
}

void append_err(std::string& out, RespCode code, std::string_view text) {
  out += "-ERR";
  // RFC 2449 §8: the response code goes in brackets right after "-ERR ".
  if (code != RespCode::None) {
    out += " [";
    out += resp_code_text(code);
    out += ']';
  }
  if (!text.empty()) {
    out += ' ';
    out += text;
  }
  out += "\r\n";
}

std::string ok(std::string_view text) {
  std::string s;
  append_ok(s, text);
  return s;
}

std::string err(std::string_view text) { return err(RespCode::None, text); }

std::string err(RespCode code, std::string_view text) {
  std::string s;
  append_err(s, code, text);
  return s;
}

std::string sanitise_text(std::string_view s, std::size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (char ch : s.substr(0, max)) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back((c < 0x20 || c == 0x7f) ? '?' : ch);
  }
  return out;
}

}  // namespace tern::pop3
