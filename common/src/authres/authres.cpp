#include "tern/authres/authres.hpp"

#include "tern/dkim/message.hpp"

namespace tern::authres {
namespace {

bool tspecial(char c) {
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
      return true;
    default:
      return false;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  return out + "\"";
}

// RFC 8601 §2.2 pvalue: a value, or [local-part "@"] domain-name.
std::string pvalue(std::string_view v) {
  if (is_token(v)) return std::string(v);
  std::size_t at = v.rfind('@');
  if (at != std::string_view::npos && is_token(v.substr(at + 1)) &&
      (at == 0 || is_token(v.substr(0, at))))
    return std::string(v);
  return quoted(v);
}

std::string comment(std::string_view s) {
  std::string out = "(";
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') continue;
    out += c;
  }
  return out + ")";
}

// Skip CFWS: whitespace, folding and (nested) comments.
std::size_t skip_cfws(std::string_view s, std::size_t i) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (depth > 0) {
      if (c == '\\') ++i;
      else if (c == '(') ++depth;
      else if (c == ')') --depth;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      ++depth;
      ++i;
    } else {
      break;
    }
  }
  return i;
}

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || tspecial(c)) return false;
  }
  return true;
}

std::string format_header(std::string_view id, const std::vector<MethodResult>& results) {
  std::string h = "Authentication-Results: " + std::string(id) + ";";
  if (results.empty()) return h + " none\r\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const MethodResult& r = results[i];
    h += "\r\n\t" + r.method + "=" + r.result;
    if (!r.comment.empty()) h += " " + comment(r.comment);
    for (const Property& p : r.properties) h += " " + p.ptype_property + "=" + pvalue(p.value);
    if (i + 1 < results.size()) h += ";";
  }
  return h + "\r\n";
}

std::optional<std::string> authserv_id(std::string_view v) {
  std::size_t i = skip_cfws(v, 0);
  if (i >= v.size()) return std::nullopt;
  std::string out;
  if (v[i] == '"') {
    for (++i; i < v.size() && v[i] != '"'; ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out += v[i];
    }
    if (i >= v.size()) return std::nullopt;
  } else {
    // authserv-id = value; a token here, ended by CFWS or ';'. Dots are token characters.
    while (i < v.size() && !tspecial(v[i]) && static_cast<unsigned char>(v[i]) > 0x20 &&
           static_cast<unsigned char>(v[i]) < 0x7f)
      out += v[i++];
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string remove_ours(std::string_view message, std::string_view id, int* removed) {
  if (removed) *removed = 0;
  std::string err;
  auto m = dkim::split_message(message, &err);
  if (!m) return std::string(message);
  std::string out;
  out.reserve(message.size());
  const char* pos = message.data();
  for (const auto& f : m->headers) {
    if (!dkim::iequals(f.name, "authentication-results")) continue;
    auto v = authserv_id(f.raw.substr(f.raw.find(':') + 1));
    if (!v || !dkim::iequals(*v, id)) continue;
    // Copy up to this field, then skip it and its CRLF.
    out.append(pos, f.raw.data());
    pos = f.raw.data() + f.raw.size();
    if (pos + 2 <= message.data() + message.size() && pos[0] == '\r' && pos[1] == '\n') pos += 2;
    if (removed) ++*removed;
  }
  out.append(pos, message.data() + message.size());
  return out;
}

}  // namespace tern::authres
