#include "tern/spf/record.hpp"

#include <charconv>

namespace tern::spf {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

bool fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return false;
}

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

// "/N" with no leading zero and N <= max.
bool parse_cidr(std::string_view digits, int max, int* out) {
  if (digits.empty() || digits.size() > 3) return false;
  for (char c : digits)
    if (!is_digit(c)) return false;
  if (digits.size() > 1 && digits[0] == '0') return false;
  int v = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (v > max) return false;
  *out = v;
  return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool alpha = false;
  for (char c : l) {
    if (!is_alnum(c) && c != '-') return false;
    alpha = alpha || is_alpha(c);
  }
  if (l.find('-') == std::string_view::npos) return alpha;
  return is_alnum(l.front()) && is_alnum(l.back());
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool valid_domain_spec(std::string_view s) {
  if (s.empty() || !valid_macro_string(s, false)) return false;
  if (s.back() == '}') return true;  // ends in %{...} (valid_macro_string checked it)
  if (s.size() >= 2 && s[s.size() - 2] == '%' && (s.back() == '%' || s.back() == '_' || s.back() == '-')) {
    // "%%" etc. are macro-expands too, unless the '%' itself is escaped ("%%%").
    std::size_t n = 0;
    for (std::size_t i = s.size() - 1; i-- > 0 && s[i] == '%';) ++n;
    if (n % 2 == 1) return true;
  }
  std::string_view t = s;
  if (t.back() == '.') t.remove_suffix(1);
  std::size_t dot = t.rfind('.');
  if (dot == std::string_view::npos) return false;
  return is_toplabel(t.substr(dot + 1));
}

void url_escape(std::string_view in, std::string* out) {
  static const char* hex = "0123456789ABCDEF";
  for (char c : in) {
    auto u = static_cast<unsigned char>(c);
    if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(c);
    } else {
      out->push_back('%');
      out->push_back(hex[u >> 4]);
      out->push_back(hex[u & 15]);
    }
  }
}

}  // namespace

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && iequals(txt.substr(0, 6), "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

bool valid_macro_string(std::string_view s, bool explanation) {
  std::string ignored;
  MacroContext ctx;
  ctx.validated_ptr = [] { return std::optional<std::string>("x"); };
  // The expander checks the syntax; expansion of an empty context is cheap.
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '%') {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7e) {
        if (!explanation || u != ' ') return false;  // explain-string allows SP
      }
      continue;
    }
    if (i + 1 >= s.size()) return false;
    char n = s[i + 1];
    if (n == '%' || n == '_' || n == '-') {
      ++i;
      continue;
    }
    if (n != '{') return false;
    std::size_t close = s.find('}', i + 2);
    if (close == std::string_view::npos) return false;
    std::string_view body = s.substr(i + 2, close - i - 2);
    if (body.empty()) return false;
    char letter = to_lower(body[0]);
    bool ok = letter == 's' || letter == 'l' || letter == 'o' || letter == 'd' || letter == 'i' ||
              letter == 'p' || letter == 'h' || letter == 'v' ||
              (explanation && (letter == 'c' || letter == 'r' || letter == 't'));
    if (!ok) return false;
    std::size_t j = 1;
    std::size_t digits_begin = j;
    while (j < body.size() && is_digit(body[j])) ++j;
    if (j > digits_begin) {
      std::string_view d = body.substr(digits_begin, j - digits_begin);
      if (d.size() > 3) return false;
      int v = 0;
      std::from_chars(d.data(), d.data() + d.size(), v);
      if (v == 0 || v > 128) return false;
    }
    if (j < body.size() && (body[j] == 'r' || body[j] == 'R')) ++j;
    for (; j < body.size(); ++j)
      if (!is_delimiter(body[j])) return false;
    i = close;
  }
  return true;
}

ExpandStatus expand_macros(std::string_view s, const MacroContext& ctx, bool explanation, std::string* out) {
  if (!valid_macro_string(s, explanation)) return ExpandStatus::syntax_error;
  out->clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '%') {
      out->push_back(c);
      continue;
    }
    char n = s[i + 1];
    if (n == '%') { out->push_back('%'); ++i; continue; }
    if (n == '_') { out->push_back(' '); ++i; continue; }
    if (n == '-') { out->append("%20"); ++i; continue; }
    std::size_t close = s.find('}', i + 2);
    std::string_view body = s.substr(i + 2, close - i - 2);
    i = close;
    char letter = body[0];
    bool upper = letter >= 'A' && letter <= 'Z';
    std::string value;
    switch (to_lower(letter)) {
      case 's': value = ctx.sender; break;
      case 'l': value = ctx.local_part; break;
      case 'o': value = ctx.sender_domain; break;
      case 'd': value = ctx.domain; break;
      case 'i': value = ctx.ip.macro_i(); break;
      case 'v': value = ctx.ip.v6 ? "ip6" : "in-addr"; break;
      case 'h': value = ctx.helo; break;
      case 'c': value = ctx.ip.to_string(); break;
      case 'r': value = ctx.receiver; break;
      case 't': value = std::to_string(ctx.now); break;
      case 'p': {
        auto p = ctx.validated_ptr ? ctx.validated_ptr() : std::optional<std::string>("unknown");
        if (!p) return ExpandStatus::suspended;
        value = *p;
        break;
      }
    }
    std::size_t j = 1;
    int keep = 0;
    while (j < body.size() && is_digit(body[j])) keep = keep * 10 + (body[j++] - '0');
    bool reverse = j < body.size() && (body[j] == 'r' || body[j] == 'R');
    if (reverse) ++j;
    std::string_view delims = body.substr(j);
    if (delims.empty()) delims = ".";
    // Split on the delimiters, reverse, keep the rightmost `keep` parts, join with '.'.
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t k = 0; k <= value.size(); ++k) {
      if (k == value.size() || delims.find(value[k]) != std::string_view::npos) {
        parts.push_back(std::string_view(value).substr(start, k - start));
        start = k + 1;
      }
    }
    if (reverse) std::reverse(parts.begin(), parts.end());
    std::size_t first = keep > 0 && static_cast<std::size_t>(keep) < parts.size() ? parts.size() - keep : 0;
    std::string joined;
    for (std::size_t k = first; k < parts.size(); ++k) {
      if (k > first) joined += '.';
      joined += parts[k];
    }
    if (upper) url_escape(joined, out);
    else out->append(joined);
  }
  return ExpandStatus::ok;
}

std::string truncate_domain(std::string_view name) {
  // §7.3: over 253 octets, drop labels from the left until it fits.
  while (name.size() > 253) {
    std::size_t dot = name.find('.');
    if (dot == std::string_view::npos) return std::string(name.substr(name.size() - 253));
    name.remove_prefix(dot + 1);
  }
  return std::string(name);
}

std::optional<Record> parse_record(std::string_view text, std::string* error) {
  if (text.size() > kMaxRecordLength) return fail(error, "record too long"), std::nullopt;
  if (!is_spf_record(text)) return fail(error, "not an SPF record"), std::nullopt;
  Record r;
  std::size_t i = 6, terms = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view term = text.substr(i, end - i);
    i = end;
    if (++terms > kMaxTerms) return fail(error, "too many terms"), std::nullopt;
    // modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    std::size_t k = 0;
    if (is_alpha(term[0])) {
      k = 1;
      while (k < term.size() && (is_alnum(term[k]) || term[k] == '-' || term[k] == '_' || term[k] == '.')) ++k;
    }
    if (k > 0 && k < term.size() && term[k] == '=') {
      std::string_view name = term.substr(0, k), value = term.substr(k + 1);
      if (iequals(name, "redirect") || iequals(name, "exp")) {
        auto& slot = iequals(name, "redirect") ? r.redirect : r.exp;
        if (slot) return fail(error, "duplicate " + std::string(name) + "= modifier"), std::nullopt;
        if (!valid_domain_spec(value))
          return fail(error, "bad domain-spec in " + std::string(term)), std::nullopt;
        slot = std::string(value);
      } else if (!valid_macro_string(value, false)) {
        return fail(error, "bad macro-string in " + std::string(term)), std::nullopt;
      }
      continue;
    }
    Mechanism m;
    m.text = std::string(term);
    std::string_view t = term;
    if (t[0] == '+' || t[0] == '-' || t[0] == '~' || t[0] == '?') {
      m.qualifier = static_cast<Qualifier>(t[0]);
      t.remove_prefix(1);
    }
    std::size_t n = 0;
    while (n < t.size() && is_alnum(t[n])) ++n;
    std::string_view name = t.substr(0, n), rest = t.substr(n);
    auto bad = [&] { return fail(error, "bad mechanism " + std::string(term)), std::nullopt; };
    // Split "rest" into ":domain-spec" and "/cidr//cidr6" parts.
    auto split_cidr = [&](std::string_view& spec, bool dual) -> bool {
      std::size_t dd = spec.rfind("//");
      if (dual && dd != std::string_view::npos && spec.find_first_not_of("0123456789", dd + 2) == std::string_view::npos) {
        if (!parse_cidr(spec.substr(dd + 2), 128, &m.cidr6)) return false;
        spec = spec.substr(0, dd);
      }
      std::size_t sl = spec.rfind('/');
      if (sl != std::string_view::npos && spec.find_first_not_of("0123456789", sl + 1) == std::string_view::npos) {
        if (!parse_cidr(spec.substr(sl + 1), dual ? 32 : (m.kind == Mech::ip6 ? 128 : 32),
                        m.kind == Mech::ip6 ? &m.cidr6 : &m.cidr4))
          return false;
        spec = spec.substr(0, sl);
      }
      return true;
    };
    if (iequals(name, "all")) {
      m.kind = Mech::all;
      if (!rest.empty()) return bad();
    } else if (iequals(name, "include") || iequals(name, "exists")) {
      m.kind = iequals(name, "include") ? Mech::include : Mech::exists;
      if (rest.size() < 2 || rest[0] != ':' || !valid_domain_spec(rest.substr(1))) return bad();
      m.domain_spec = std::string(rest.substr(1));
    } else if (iequals(name, "a") || iequals(name, "mx")) {
      m.kind = iequals(name, "a") ? Mech::a : Mech::mx;
      if (!split_cidr(rest, true)) return bad();
      if (!rest.empty()) {
        if (rest[0] != ':' || !valid_domain_spec(rest.substr(1))) return bad();
        m.domain_spec = std::string(rest.substr(1));
      }
    } else if (iequals(name, "ptr")) {
      m.kind = Mech::ptr;
      if (!rest.empty()) {
        if (rest[0] != ':' || !valid_domain_spec(rest.substr(1))) return bad();
        m.domain_spec = std::string(rest.substr(1));
      }
    } else if (iequals(name, "ip4") || iequals(name, "ip6")) {
      m.kind = iequals(name, "ip4") ? Mech::ip4 : Mech::ip6;
      if (rest.empty() || rest[0] != ':') return bad();
      rest.remove_prefix(1);
      if (!split_cidr(rest, false)) return bad();
      auto ip = IpAddress::parse(rest, m.kind == Mech::ip4);
      // ip4 takes only a dotted quad; ip6 only an IPv6 literal (mapped forms included).
      bool has_colon = rest.find(':') != std::string_view::npos;
      if (!ip || (m.kind == Mech::ip4) == has_colon) return bad();
      m.network = *ip;
      if (m.kind == Mech::ip4) m.cidr6 = 128;
    } else {
      return bad();
    }
    r.mechanisms.push_back(std::move(m));
  }
  return r;
}

}  // namespace tern::spf
