// ENVELOPE and BODY/BODYSTRUCTURE wire text (RFC 9051 7.5.2, RFC 3501 7.4.2).
#include "tern/mime/imap.hpp"

#include "mime_internal.hpp"
#include "tern/mime/address.hpp"

namespace tern::mime {

void append_string(std::string& out, std::string_view s) {
  bool literal = false;
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == 0 || c >= 0x80) {
      literal = true;
      break;
    }
  if (literal) {
    out += '{';
    out += std::to_string(s.size());
    out += "}\r\n";
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void append_nstring(std::string& out, const std::optional<std::string>& s) {
  if (!s)
    out += "NIL";
  else
    append_string(out, *s);
}

namespace {

// A header value as ENVELOPE shows it: line breaks of folding removed, leading WSP
// dropped (what follows "Subject:" is the value).
std::optional<std::string> env_value(std::string_view msg, const Part& p, std::string_view name) {
  auto v = p.header(msg, name);
  if (!v) return std::nullopt;
  std::string out;
  out.reserve(v->size());
  for (char c : *v)
    if (c != '\r' && c != '\n') out.push_back(c);
  std::size_t b = 0;
  while (b < out.size() && (out[b] == ' ' || out[b] == '\t')) ++b;
  return out.substr(b);
}

void append_addresses(std::string& out, std::string_view msg, const Part& p, std::string_view name,
                      std::string_view fallback = {}) {
  auto v = p.header(msg, name);
  if (!v && !fallback.empty()) v = p.header(msg, fallback);
  if (!v) {
    out += "NIL";
    return;
  }
  std::vector<Address> list = parse_address_list(*v);
  if (list.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  for (const auto& a : list) {
    out += '(';
    switch (a.kind) {
      case Address::Kind::mailbox:
        append_nstring(out, a.name);
        out += ' ';
        append_nstring(out, a.route);
        out += ' ';
        append_string(out, a.mailbox);
        out += ' ';
        append_string(out, a.host);
        break;
      case Address::Kind::group_start:
        out += "NIL NIL ";
        append_string(out, a.mailbox);
        out += " NIL";
        break;
      case Address::Kind::group_end:
        out += "NIL NIL NIL NIL";
        break;
    }
    out += ')';
  }
  out += ')';
}

void append_params(std::string& out, const std::vector<Param>& params) {
  if (params.empty()) {
    out += "NIL";
    return;
  }
  out += '(';
  bool first = true;
  for (const auto& p : params) {
    if (!first) out += ' ';
    first = false;
    append_string(out, detail::lower(p.name));
    out += ' ';
    append_string(out, p.value);
  }
  out += ')';
}

// disposition language location (shared by both kinds of extension data).
void append_ext_tail(std::string& out, const Part& p) {
  out += ' ';
  if (p.disposition) {
    out += '(';
    append_string(out, *p.disposition);
    out += ' ';
    append_params(out, p.disposition_params);
    out += ')';
  } else {
    out += "NIL";
  }
  out += ' ';
  if (p.language.empty()) {
    out += "NIL";
  } else if (p.language.size() == 1) {
    append_string(out, p.language[0]);
  } else {
    out += '(';
    for (std::size_t i = 0; i < p.language.size(); ++i) {
      if (i) out += ' ';
      append_string(out, p.language[i]);
    }
    out += ')';
  }
  out += ' ';
  append_nstring(out, p.location);
}

void body(std::string& out, std::string_view msg, const Part& p, bool ext) {
  out += '(';
  if (p.kind == PartKind::multipart) {
    if (p.children.empty()) {
      // XXX: RFC 9051 needs at least one body part; a multipart with none gets an
      // empty text/plain, as Dovecot does.
      out += "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
    }
    for (const auto& c : p.children) body(out, msg, c, ext);
    out += ' ';
    append_string(out, p.subtype);
    if (ext) {
      out += ' ';
      append_params(out, p.params);
      append_ext_tail(out, p);
    }
    out += ')';
    return;
  }
  append_string(out, p.type);
  out += ' ';
  append_string(out, p.subtype);
  out += ' ';
  if (!p.has_content_type && p.type == "text")
    out += "(\"charset\" \"us-ascii\")";
  else
    append_params(out, p.params);
  out += ' ';
  append_nstring(out, p.id);
  out += ' ';
  append_nstring(out, p.description);
  out += ' ';
  append_string(out, p.encoding ? detail::lower(*p.encoding) : std::string("7bit"));
  out += ' ';
  out += std::to_string(p.body_size());
  if (p.kind == PartKind::message && !p.children.empty()) {
    out += ' ';
    out += envelope(msg, p.children[0]);
    out += ' ';
    body(out, msg, p.children[0], ext);
    out += ' ';
    out += std::to_string(p.body_lines);
  } else if (p.type == "text") {
    out += ' ';
    out += std::to_string(p.body_lines);
  }
  if (ext) {
    out += ' ';
    append_nstring(out, p.md5);
    append_ext_tail(out, p);
  }
  out += ')';
}

}  // namespace

std::string envelope(std::string_view msg, const Part& e) {
  std::string out = "(";
  append_nstring(out, env_value(msg, e, "date"));
  out += ' ';
  append_nstring(out, env_value(msg, e, "subject"));
  out += ' ';
  append_addresses(out, msg, e, "from");
  out += ' ';
  append_addresses(out, msg, e, "sender", "from");
  out += ' ';
  append_addresses(out, msg, e, "reply-to", "from");
  out += ' ';
  append_addresses(out, msg, e, "to");
  out += ' ';
  append_addresses(out, msg, e, "cc");
  out += ' ';
  append_addresses(out, msg, e, "bcc");
  out += ' ';
  append_nstring(out, env_value(msg, e, "in-reply-to"));
  out += ' ';
  append_nstring(out, env_value(msg, e, "message-id"));
  out += ')';
  return out;
}

std::string body_structure(std::string_view msg, const Part& part, bool extended) {
  std::string out;
  body(out, msg, part, extended);
  return out;
}

}  // namespace tern::mime
