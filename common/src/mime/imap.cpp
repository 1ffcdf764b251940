// ENVELOPE and BODY/BODYSTRUCTURE wire text (RFC 9051 7.5.2, RFC 3501 7.4.2).
#include "tern/mime/imap.hpp"

#include <algorithm>

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

// A header value as ENVELOPE shows it: WSP after the colon and at the end dropped, line breaks of
// folding removed, a TAB that began a continuation line turned into a space (what
// Dovecot shows). For a repeated field the last occurrence counts, as in Dovecot.
std::optional<std::string> env_value(std::string_view msg, const Part& p, std::string_view name) {
  std::optional<std::string_view> v;
  for (const auto& f : p.headers)
    if (iequals(f.name(msg), name)) v = f.raw_value(msg);
  if (!v) return std::nullopt;
  std::string_view raw = *v;
  std::size_t b = 0;
  while (b < raw.size() && (raw[b] == ' ' || raw[b] == '\t')) ++b;
  std::string out;
  out.reserve(raw.size());
  bool after_break = false;
  for (std::size_t i = b; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\r') continue;
    if (c == '\n') {
      after_break = true;
      continue;
    }
    if (after_break && c == '\t') c = ' ';
    after_break = false;
    out.push_back(c);
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  return out;
}

void append_addresses(std::string& out, std::string_view msg, const Part& p, std::string_view name,
                      std::string_view fallback = {}) {
  // Every occurrence of the field contributes (Dovecot does the same; a second From
  // is then visible to the user instead of silently hidden).
  // The fallback (Sender and Reply-To → From, RFC 9051 7.5.2) applies when the field
  // is absent or gives no address at all ("Reply-To: " with an empty value), as Dovecot.
  std::vector<Address> list;
  for (std::string_view n : {name, fallback}) {
    if (n.empty() || !list.empty()) continue;
    for (const auto& f : p.headers) {
      if (!iequals(f.name(msg), n)) continue;
      for (auto& a : parse_address_list(f.raw_value(msg))) list.push_back(std::move(a));
      if (list.size() > 10000) break;
    }
  }
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

// RFC 2231 3 continuations ("name*0", "name*1*") are joined into one parameter, named
// "name*" if any section is encoded (the value stays percent-encoded, with the
// charset'lang' prefix of section 0) or "name" otherwise, as Dovecot shows them.
std::vector<Param> join_continuations(const std::vector<Param>& params) {
  std::vector<Param> out;
  std::vector<std::pair<std::string, std::vector<std::pair<unsigned, const Param*>>>> groups;
  std::vector<int> slot;  // per output entry: group index or -1
  for (const auto& p : params) {
    auto star = p.name.find('*');
    std::size_t k = star == std::string::npos ? 0 : star + 1;
    unsigned n = 0;
    std::size_t digits = 0;
    while (k < p.name.size() && p.name[k] >= '0' && p.name[k] <= '9' && digits < 6) n = n * 10 + static_cast<unsigned>(p.name[k++] - '0'), ++digits;
    bool section = star != std::string::npos && digits > 0 &&
                   (k == p.name.size() || (k + 1 == p.name.size() && p.name[k] == '*'));
    if (!section) {
      out.push_back(p);
      slot.push_back(-1);
      continue;
    }
    std::string base = p.name.substr(0, star);
    int g = -1;
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (iequals(groups[i].first, base)) g = static_cast<int>(i);
    if (g < 0) {
      groups.push_back({base, {}});
      g = static_cast<int>(groups.size()) - 1;
      out.push_back({});
      slot.push_back(g);
    }
    groups[static_cast<std::size_t>(g)].second.push_back({n, &p});
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (slot[i] < 0) continue;
    auto& [base, secs] = groups[static_cast<std::size_t>(slot[i])];
    std::stable_sort(secs.begin(), secs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    bool encoded = false;
    std::string value;
    for (const auto& [n, prm] : secs) {
      if (prm->name.back() == '*') encoded = true;
      value += prm->value;
    }
    out[i] = {encoded ? base + "*" : base, value};
  }
  return out;
}

void append_param_list(std::string& out, const std::vector<Param>& params) {
  out += '(';
  bool first = true;
  for (const auto& p : params) {
    if (!first) out += ' ';
    first = false;
    append_string(out, p.name);
    out += ' ';
    append_string(out, p.value);
  }
  out += ')';
}

void append_params(std::string& out, const std::vector<Param>& params) {
  if (params.empty()) {
    out += "NIL";
    return;
  }
  append_param_list(out, join_continuations(params));
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
  } else {  // always a list, also for one tag (both forms are valid; Dovecot uses this)
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
      // Note: RFC 9051 needs at least one body part; a multipart with none gets an
      // empty text/plain, as Dovecot does.
      out += ext ? "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
                 : "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
    }
    for (const auto& c : p.children) body(out, msg, c, ext);
    out += ' ';
    append_string(out, p.subtype_as_sent);
    if (ext) {
      out += ' ';
      append_params(out, p.params);
      append_ext_tail(out, p);
    }
    out += ')';
    return;
  }
  append_string(out, p.type_as_sent);
  out += ' ';
  append_string(out, p.subtype_as_sent);
  out += ' ';
  if (p.type == "text" && !p.param("charset")) {
    // RFC 2045 5.2: text without a charset is US-ASCII; shown explicitly (Dovecot too).
    std::vector<Param> ps = join_continuations(p.params);
    ps.push_back({"charset", "us-ascii"});
    append_param_list(out, ps);
  } else {
    append_params(out, p.params);
  }
  out += ' ';
  append_nstring(out, p.id);
  out += ' ';
  append_nstring(out, p.description);
  out += ' ';
  append_string(out, p.encoding.value_or("7bit"));
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
