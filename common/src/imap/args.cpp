#include "tern/imap/args.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace tern::imap {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

bool parse_number(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (max - static_cast<unsigned>(c - '0')) / 10) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

// seq-number: nz-number or "*" (0).
bool parse_seq_number(std::string_view s, std::uint32_t& out) {
  if (s == "*") {
    out = 0;
    return true;
  }
  std::uint64_t v;
  if (!parse_number(s, 0xffffffffull, v) || v == 0 || s[0] == '0') return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

int month_index(std::string_view m) {
  static const char* const kMon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  for (int i = 0; i < 12; ++i)
    if (ieq(m, kMon[i])) return i;
  return -1;
}

long long days_from_civil(int y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm (public domain description of the civil calendar).
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool valid_day(int y, int mon, int d) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int max = kDays[mon];
  if (mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
  return d >= 1 && d <= max;
}

}  // namespace

// ------------------------------------------------------------------ sequence sets

bool parse_sequence_set(std::string_view s, std::size_t max_ranges, SequenceSet& out) {
  out.ranges.clear();
  if (s.empty()) return false;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t comma = s.find(',', pos);
    std::string_view item = s.substr(pos, comma == std::string_view::npos ? s.npos : comma - pos);
    if (out.ranges.size() >= max_ranges) return false;
    SeqRange r;
    std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      if (!parse_seq_number(item, r.first)) return false;
      r.last = r.first;
    } else {
      if (!parse_seq_number(item.substr(0, colon), r.first)) return false;
      if (!parse_seq_number(item.substr(colon + 1), r.last)) return false;
    }
    out.ranges.push_back(r);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return true;
}

std::vector<SeqRange> SequenceSet::resolve(std::uint32_t star) const {
  std::vector<SeqRange> r;
  r.reserve(ranges.size());
  for (SeqRange x : ranges) {
    if (x.first == 0 || x.last == 0) {
      if (star == 0) continue;
      if (x.first == 0) x.first = star;
      if (x.last == 0) x.last = star;
    }
    if (x.first > x.last) std::swap(x.first, x.last);
    r.push_back(x);
  }
  std::sort(r.begin(), r.end(), [](const SeqRange& a, const SeqRange& b) { return a.first < b.first; });
  std::vector<SeqRange> m;
  for (const auto& x : r) {
    if (!m.empty() && (m.back().last == 0xffffffffu || x.first <= m.back().last + 1)) {
      m.back().last = std::max(m.back().last, x.last);
    } else {
      m.push_back(x);
    }
  }
  return m;
}

bool in_ranges(const std::vector<SeqRange>& resolved, std::uint32_t v) {
  auto it = std::upper_bound(resolved.begin(), resolved.end(), v,
                             [](std::uint32_t val, const SeqRange& r) { return val < r.first; });
  if (it == resolved.begin()) return false;
  --it;
  return v >= it->first && v <= it->last;
}

// ------------------------------------------------------------------ flags, dates

bool parse_flag(std::string_view atom, FlagList& out) {
  if (atom.empty()) return false;
  if (atom[0] == '\\') {
    std::string_view n = atom.substr(1);
    if (ieq(n, "Seen")) out.flags |= 1u << 0;
    else if (ieq(n, "Answered")) out.flags |= 1u << 1;
    else if (ieq(n, "Flagged")) out.flags |= 1u << 2;
    else if (ieq(n, "Deleted")) out.flags |= 1u << 3;
    else if (ieq(n, "Draft")) out.flags |= 1u << 4;
    else if (ieq(n, "Recent")) return true;  // read-only in IMAP4rev1, gone in rev2
    else return false;
    return true;
  }
  for (unsigned char c : atom) {
    if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' ||
        c == '"' || c == '\\' || c == ']')
      return false;
  }
  for (const auto& k : out.keywords)
    if (ieq(k, atom)) return true;
  // A mailbox holds at most 1000 keywords (store kMaxMailboxKeywords); more in one
  // list cannot be stored, and the duplicate check above is quadratic in them.
  if (out.keywords.size() >= kMaxFlagKeywords) return false;
  out.keywords.emplace_back(atom);
  return true;
}

bool parse_flag_list(const Arg& arg, FlagList& out) {
  if (arg.is_atom()) return parse_flag(arg.text, out);
  if (!arg.is_list()) return false;
  for (const auto& a : arg.list) {
    if (!a.is_atom() || !parse_flag(a.text, out)) return false;
  }
  return true;
}

std::optional<long long> parse_date(std::string_view s) {
  std::size_t d1 = s.find('-');
  if (d1 == std::string_view::npos || d1 == 0 || d1 > 2) return std::nullopt;
  std::size_t d2 = s.find('-', d1 + 1);
  if (d2 == std::string_view::npos || d2 - d1 != 4 || s.size() - d2 - 1 != 4) return std::nullopt;
  std::uint64_t day, year;
  if (!parse_number(s.substr(0, d1), 31, day)) return std::nullopt;
  int mon = month_index(s.substr(d1 + 1, 3));
  if (mon < 0) return std::nullopt;
  if (!parse_number(s.substr(d2 + 1), 9999, year) || year < 1000) return std::nullopt;
  if (!valid_day(static_cast<int>(year), mon, static_cast<int>(day))) return std::nullopt;
  return days_from_civil(static_cast<int>(year), static_cast<unsigned>(mon + 1),
                         static_cast<unsigned>(day)) * 86400LL;
}

std::optional<long long> parse_date_time(std::string_view s) {
  // "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d".
  if (s.size() != 26) return std::nullopt;
  std::string day(s.substr(0, 2));
  if (day[0] == ' ') day.erase(0, 1);
  auto date = parse_date(day + std::string(s.substr(2, 9)));
  if (!date || s[11] != ' ' || s[14] != ':' || s[17] != ':' || s[20] != ' ') return std::nullopt;
  std::uint64_t hh, mm, ss, zh, zm;
  if (!parse_number(s.substr(12, 2), 23, hh) || !parse_number(s.substr(15, 2), 59, mm) ||
      !parse_number(s.substr(18, 2), 60, ss))
    return std::nullopt;
  char sign = s[21];
  if ((sign != '+' && sign != '-') || !parse_number(s.substr(22, 2), 99, zh) ||
      !parse_number(s.substr(24, 2), 59, zm))
    return std::nullopt;
  long long zone = static_cast<long long>(zh * 3600 + zm * 60);
  if (sign == '-') zone = -zone;
  return *date + static_cast<long long>(hh * 3600 + mm * 60 + ss) - zone;
}

// ------------------------------------------------------------------ FETCH

namespace {

bool parse_section(std::string_view in, Section& out, std::string& error) {
  // in: text between [ and ].
  out = Section{};
  std::string_view s = in;
  // Part numbers: digits '.' digits ...
  while (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    std::size_t e = 0;
    while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
    std::uint64_t v;
    if (!parse_number(s.substr(0, e), 0xffffffffull, v) || v == 0) {
      error = "bad section part number";
      return false;
    }
    out.part.push_back(static_cast<std::uint32_t>(v));
    if (out.part.size() > 100) {
      error = "section nested too deeply";
      return false;
    }
    s.remove_prefix(e);
    if (s.empty()) break;
    if (s[0] != '.') {
      error = "bad section";
      return false;
    }
    s.remove_prefix(1);
    if (s.empty()) {
      error = "bad section";
      return false;
    }
  }
  std::string canon;
  for (std::size_t i = 0; i < out.part.size(); ++i) {
    if (i) canon += '.';
    canon += std::to_string(out.part[i]);
  }
  if (s.empty()) {
    out.text = canon;
    return true;
  }
  std::size_t sp = s.find(' ');
  std::string word = upper(s.substr(0, sp));
  if (!canon.empty()) canon += '.';
  if (word == "HEADER" && sp == s.npos) out.spec = Section::Spec::Header;
  else if (word == "TEXT" && sp == s.npos) out.spec = Section::Spec::Text;
  else if (word == "MIME" && sp == s.npos && !out.part.empty()) out.spec = Section::Spec::Mime;
  else if ((word == "HEADER.FIELDS" || word == "HEADER.FIELDS.NOT") && sp != s.npos) {
    out.spec = word == "HEADER.FIELDS" ? Section::Spec::HeaderFields : Section::Spec::HeaderFieldsNot;
    std::string_view list = s.substr(sp + 1);
    if (list.size() < 2 || list.front() != '(' || list.back() != ')') {
      error = "bad header list";
      return false;
    }
    list = list.substr(1, list.size() - 2);
    std::string fields;
    while (!list.empty()) {
      std::size_t e = list.find(' ');
      std::string_view f = list.substr(0, e);
      if (!f.empty()) {
        // Header field names, RFC 5322 ftext (printable, no ':'), unquoted here.
        std::string_view name = f;
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
          name = name.substr(1, name.size() - 2);
        for (unsigned char c : name)
          if (c <= 0x20 || c >= 0x7f || c == ':') {
            error = "bad header field name";
            return false;
          }
        if (name.empty()) {
          error = "bad header field name";
          return false;
        }
        out.fields.push_back(upper(name));
        // Each listed field is compared with each header field of every message
        // fetched: clients list a dozen or two; thousands only cost CPU.
        if (out.fields.size() > 256) {
          error = "too many header fields (at most 256)";
          return false;
        }
        if (!fields.empty()) fields += ' ';
        fields += upper(name);
      }
      if (e == std::string_view::npos) break;
      list.remove_prefix(e + 1);
    }
    if (out.fields.empty()) {
      error = "empty header list";
      return false;
    }
    canon += word + " (" + fields + ")";
    out.text = canon;
    return true;
  } else {
    error = "bad section";
    return false;
  }
  canon += word;
  out.text = canon;
  return true;
}

// "BODY[...]<o.n>" / "BINARY.PEEK[...]" etc.
bool parse_section_att(std::string_view atom, FetchAtt& att, std::string& error) {
  std::size_t open = atom.find('[');
  std::size_t close = atom.find(']', open);
  if (close == std::string_view::npos) {
    error = "missing ']'";
    return false;
  }
  if (!parse_section(atom.substr(open + 1, close - open - 1), att.section, error)) return false;
  std::string_view tail = atom.substr(close + 1);
  if (!tail.empty()) {
    if (tail.size() < 3 || tail.front() != '<' || tail.back() != '>') {
      error = "bad partial";
      return false;
    }
    std::string_view in = tail.substr(1, tail.size() - 2);
    std::size_t dot = in.find('.');
    std::uint64_t o, n;
    if (dot == std::string_view::npos || !parse_number(in.substr(0, dot), 0xffffffffull, o) ||
        !parse_number(in.substr(dot + 1), 0xffffffffull, n) || n == 0) {
      error = "bad partial";
      return false;
    }
    att.partial_offset = o;
    att.partial_length = n;
  }
  return true;
}

bool parse_one_att(const Arg& a, std::vector<FetchAtt>& out, std::string& error) {
  if (!a.is_atom()) {
    error = "bad fetch attribute";
    return false;
  }
  using K = FetchAtt::Kind;
  auto add = [&](K k) {
    FetchAtt f;
    f.kind = k;
    out.push_back(std::move(f));
    return true;
  };
  std::string u = upper(a.text);
  if (u == "ALL") return add(K::Flags), add(K::InternalDate), add(K::Rfc822Size), add(K::Envelope);
  if (u == "FAST") return add(K::Flags), add(K::InternalDate), add(K::Rfc822Size);
  if (u == "FULL")
    return add(K::Flags), add(K::InternalDate), add(K::Rfc822Size), add(K::Envelope), add(K::Body);
  if (u == "FLAGS") return add(K::Flags);
  if (u == "UID") return add(K::Uid);
  if (u == "INTERNALDATE") return add(K::InternalDate);
  if (u == "RFC822.SIZE") return add(K::Rfc822Size);
  if (u == "ENVELOPE") return add(K::Envelope);
  if (u == "BODYSTRUCTURE") return add(K::BodyStructure);
  if (u == "BODY") return add(K::Body);
  if (u == "RFC822") return add(K::Rfc822);
  if (u == "RFC822.HEADER") return add(K::Rfc822Header);
  if (u == "RFC822.TEXT") return add(K::Rfc822Text);
  if (u == "MODSEQ") return add(K::ModSeq);
  if (u == "SAVEDATE") return add(K::SaveDate);
  FetchAtt f;
  std::string_view head = std::string_view(u).substr(0, u.find('['));
  if (head == "BODY" || head == "BODY.PEEK") f.kind = K::BodySection;
  else if (head == "BINARY" || head == "BINARY.PEEK") f.kind = K::Binary;
  else if (head == "BINARY.SIZE") f.kind = K::BinarySize;
  else {
    error = "unknown fetch attribute " + u.substr(0, 40);
    return false;
  }
  if (head.size() == u.size()) {
    error = "missing section";
    return false;
  }
  f.peek = head.find(".PEEK") != std::string_view::npos;
  // Keep the field names' case as sent? RFC 9051 7.5.2: the server returns the
  // section spec; upper case is what clients match case-insensitively.
  if (!parse_section_att(a.text, f, error)) return false;
  if (f.kind != K::BodySection && f.section.spec != Section::Spec::None) {
    error = "BINARY takes part numbers only";
    return false;
  }
  if (f.kind == K::BinarySize && f.partial_offset) {
    error = "BINARY.SIZE takes no partial";
    return false;
  }
  out.push_back(std::move(f));
  return true;
}

}  // namespace

bool parse_fetch(const std::vector<Arg>& args, std::size_t first, FetchRequest& out,
                 std::string& error) {
  out = FetchRequest{};
  if (first >= args.size()) {
    error = "missing fetch attributes";
    return false;
  }
  const Arg& a = args[first];
  if (a.is_list()) {
    if (a.list.empty()) {
      error = "empty fetch attribute list";
      return false;
    }
    for (const auto& x : a.list) {
      if (x.is("ALL") || x.is("FAST") || x.is("FULL")) {
        error = "macros are not allowed in a list";
        return false;
      }
      if (!parse_one_att(x, out.atts, error)) return false;
    }
  } else if (!parse_one_att(a, out.atts, error)) {
    return false;
  }
  if (first + 1 < args.size()) {
    const Arg& m = args[first + 1];
    if (!m.is_list() || first + 2 != args.size()) {
      error = "bad fetch modifiers";
      return false;
    }
    for (std::size_t i = 0; i < m.list.size(); ++i) {
      if (m.list[i].is("CHANGEDSINCE") && i + 1 < m.list.size() && m.list[i + 1].is_atom()) {
        std::uint64_t v;
        if (!parse_number(m.list[i + 1].text, 0x7fffffffffffffffull, v)) {
          error = "bad CHANGEDSINCE";
          return false;
        }
        out.changedsince = true;
        out.changedsince_modseq = v;
        ++i;
      } else if (m.list[i].is("VANISHED")) {
        out.vanished = true;
      } else {
        error = "unknown fetch modifier";
        return false;
      }
    }
    if (out.vanished && !out.changedsince) {
      error = "VANISHED needs CHANGEDSINCE";
      return false;
    }
  }
  return true;
}

std::string fetch_att_name(const FetchAtt& a) {
  std::string r;
  if (a.kind == FetchAtt::Kind::BodySection) r = "BODY[";
  else if (a.kind == FetchAtt::Kind::Binary) r = "BINARY[";
  else if (a.kind == FetchAtt::Kind::BinarySize) r = "BINARY.SIZE[";
  r += a.section.text;
  r += ']';
  // RFC 9051 7.5.2: a partial fetch answers with the origin octet only.
  if (a.partial_offset) r += "<" + std::to_string(*a.partial_offset) + ">";
  return r;
}

// ------------------------------------------------------------------ SEARCH

namespace {

// HEADER, BODY and TEXT keys (and FROM, SUBJECT, ... which are HEADER keys) each scan
// every message: a SEARCH of thousands of them ("NOT BODY x" repeated, each one true)
// costs keys x mailbox size, seconds of CPU for a small mailbox. Clients send a few
// (Thunderbird's quick filter: five ORed); 100 leaves room and bounds the work.
constexpr std::size_t kMaxContentKeys = 100;

class SearchParser {
 public:
  SearchParser(const std::vector<Arg>& args, std::size_t nesting_max, std::size_t max_ranges)
      : nesting_max_(nesting_max), max_ranges_(max_ranges) {
    (void)args;
  }

  bool uses_modseq = false;
  std::string error;
  std::size_t content_keys = 0;

  // Parses keys from list[i...] into `out` (an And), stopping at the end.
  bool parse_all(const std::vector<Arg>& list, std::size_t i, SearchKey& out, std::size_t depth) {
    out = SearchKey{};
    out.kind = SearchKey::Kind::And;
    if (i >= list.size()) return fail("missing search criteria");
    while (i < list.size()) {
      SearchKey k;
      if (!parse_key(list, i, k, depth)) return false;
      out.sub.push_back(std::move(k));
    }
    return true;
  }

 private:
  bool fail(std::string e) {
    error = std::move(e);
    return false;
  }

  bool string_arg(const std::vector<Arg>& l, std::size_t& i, std::string& out) {
    if (i >= l.size() || !l[i].is_astring()) return fail("missing search string");
    out = l[i++].text;
    return true;
  }

  bool number_arg(const std::vector<Arg>& l, std::size_t& i, std::uint64_t& out) {
    if (i >= l.size() || !l[i].is_atom() || !parse_number(l[i].text, 0xffffffffffffffffull, out))
      return fail("missing or bad number");
    ++i;
    return true;
  }

  bool date_arg(const std::vector<Arg>& l, std::size_t& i, std::uint64_t& out) {
    if (i >= l.size() || !l[i].is_astring()) return fail("missing date");
    auto d = parse_date(l[i].text);
    if (!d) return fail("bad date");
    out = static_cast<std::uint64_t>(*d);
    ++i;
    return true;
  }

  bool parse_key(const std::vector<Arg>& l, std::size_t& i, SearchKey& k, std::size_t depth) {
    if (depth > nesting_max_) return fail("search keys nested too deeply");
    const Arg& a = l[i];
    using K = SearchKey::Kind;
    if (a.is_list()) {
      ++i;
      if (a.list.empty()) return fail("empty search list");
      return parse_all(a.list, 0, k, depth + 1);
    }
    if (!a.is_atom()) return fail("unexpected string in search");
    std::string u = upper(a.text);
    ++i;
    struct Simple {
      const char* name;
      K kind;
    };
    static const Simple kSimple[] = {
        {"ALL", K::All},           {"ANSWERED", K::Answered}, {"DELETED", K::Deleted},
        {"DRAFT", K::Draft},       {"FLAGGED", K::Flagged},   {"SEEN", K::Seen},
        {"UNANSWERED", K::Unanswered}, {"UNDELETED", K::Undeleted}, {"UNDRAFT", K::Undraft},
        {"UNFLAGGED", K::Unflagged}, {"UNSEEN", K::Unseen},   {"NEW", K::New},
        {"OLD", K::Old},           {"RECENT", K::Recent},
    };
    for (const auto& s : kSimple)
      if (u == s.name) {
        k.kind = s.kind;
        return true;
      }
    if (u == "KEYWORD" || u == "UNKEYWORD") {
      k.kind = u == "KEYWORD" ? K::Keyword : K::Unkeyword;
      if (!string_arg(l, i, k.a)) return false;
      FlagList fl;
      if (k.a.empty() || k.a[0] == '\\' || !parse_flag(k.a, fl)) return fail("bad keyword");
      return true;
    }
    struct Dated {
      const char* name;
      K kind;
    };
    static const Dated kDated[] = {{"BEFORE", K::Before},         {"ON", K::On},
                                   {"SINCE", K::Since},           {"SENTBEFORE", K::SentBefore},
                                   {"SENTON", K::SentOn},         {"SENTSINCE", K::SentSince}};
    for (const auto& d : kDated)
      if (u == d.name) {
        k.kind = d.kind;
        return date_arg(l, i, k.n);
      }
    if (u == "LARGER" || u == "SMALLER") {
      k.kind = u == "LARGER" ? K::Larger : K::Smaller;
      return number_arg(l, i, k.n);
    }
    if (u == "OLDER" || u == "YOUNGER") {  // RFC 5032 WITHIN
      k.kind = u == "OLDER" ? K::Older : K::Younger;
      return number_arg(l, i, k.n);
    }
    if ((u == "BCC" || u == "CC" || u == "FROM" || u == "SUBJECT" || u == "TO" || u == "HEADER" ||
         u == "BODY" || u == "TEXT") &&
        ++content_keys > kMaxContentKeys)
      return fail("too many HEADER/BODY/TEXT search keys (at most " + std::to_string(kMaxContentKeys) + ")");
    if (u == "BCC" || u == "CC" || u == "FROM" || u == "SUBJECT" || u == "TO") {
      k.kind = K::Header;
      k.a = u;
      return string_arg(l, i, k.b);
    }
    if (u == "HEADER") {
      k.kind = K::Header;
      if (!string_arg(l, i, k.a)) return false;
      k.a = upper(k.a);
      return string_arg(l, i, k.b);
    }
    if (u == "BODY" || u == "TEXT") {
      k.kind = u == "BODY" ? K::Body : K::Text;
      return string_arg(l, i, k.a);
    }
    if (u == "UID") {
      k.kind = K::Uid;
      if (i >= l.size() || !l[i].is_atom() || !parse_sequence_set(l[i].text, max_ranges_, k.set))
        return fail("bad UID set");
      ++i;
      return true;
    }
    if (u == "NOT") {
      k.kind = K::Not;
      if (i >= l.size()) return fail("NOT without a key");
      SearchKey s;
      if (!parse_key(l, i, s, depth + 1)) return false;
      k.sub.push_back(std::move(s));
      return true;
    }
    if (u == "OR") {
      k.kind = K::Or;
      for (int n = 0; n < 2; ++n) {
        if (i >= l.size()) return fail("OR needs two keys");
        SearchKey s;
        if (!parse_key(l, i, s, depth + 1)) return false;
        k.sub.push_back(std::move(s));
      }
      return true;
    }
    if (u == "MODSEQ") {  // RFC 7162 3.1.5: MODSEQ [entry-name entry-type] mod-sequence
      k.kind = K::ModSeq;
      uses_modseq = true;
      if (i + 2 < l.size() && l[i].is_string()) {
        i += 2;  // entry name and type ("/flags/\\draft" "all"): we keep one MODSEQ
      }
      return number_arg(l, i, k.n);
    }
    SequenceSet set;
    if (parse_sequence_set(a.text, max_ranges_, set)) {
      k.kind = K::SeqSet;
      k.set = std::move(set);
      return true;
    }
    return fail("unknown search key " + u.substr(0, 40));
  }

  std::size_t nesting_max_;
  std::size_t max_ranges_;
};

}  // namespace

bool parse_search_keys(const std::vector<Arg>& args, std::size_t first, std::size_t nesting_max,
                       std::size_t max_ranges, SearchKey& out, bool& uses_modseq,
                       std::string& error) {
  SearchParser p(args, nesting_max, max_ranges);
  if (!p.parse_all(args, first, out, 0)) {
    error = p.error;
    return false;
  }
  uses_modseq = p.uses_modseq;
  return true;
}

bool parse_search(const std::vector<Arg>& args, std::size_t first, std::size_t nesting_max,
                  std::size_t max_ranges, bool allow_return, SearchProgram& out,
                  std::string& error) {
  out = SearchProgram{};
  std::size_t i = first;
  if (allow_return && i < args.size() && args[i].is("RETURN")) {
    if (i + 1 >= args.size() || !args[i + 1].is_list()) {
      error = "RETURN needs a list";
      return false;
    }
    out.esearch = true;
    for (const auto& o : args[i + 1].list) {
      if (o.is("MIN")) out.ret_min = true;
      else if (o.is("MAX")) out.ret_max = true;
      else if (o.is("ALL")) out.ret_all = true;
      else if (o.is("COUNT")) out.ret_count = true;
      else if (o.is("SAVE")) out.ret_save = true;
      else {
        error = "unknown RETURN option";
        return false;
      }
    }
    // RFC 4731 3.1: RETURN () means RETURN (ALL).
    if (!out.ret_min && !out.ret_max && !out.ret_all && !out.ret_count && !out.ret_save)
      out.ret_all = true;
    i += 2;
  }
  if (i < args.size() && args[i].is("CHARSET")) {
    if (i + 1 >= args.size() || !args[i + 1].is_astring()) {
      error = "CHARSET needs a name";
      return false;
    }
    out.charset = upper(args[i + 1].text);
    i += 2;
  }
  return parse_search_keys(args, i, nesting_max, max_ranges, out.root, out.uses_modseq, error);
}

}  // namespace tern::imap
