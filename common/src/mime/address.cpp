// RFC 5322 3.4 address-list parser for ENVELOPE: tokenize (atoms, quoted strings,
// comments, domain literals, specials), then read mailboxes and groups, recovering at
// ',' from anything unexpected.
#include "tern/mime/address.hpp"

#include <cstddef>

namespace tern::mime {

namespace {

enum class Tok { word, quoted, literal, special };

struct Token {
  Tok kind;
  std::string text;  // word / quoted content / literal "[..]" / the special char
  std::string raw;   // as written (quoted strings keep their quotes)
  std::size_t comment = 0;  // 1 + index into comments of a comment just before it, or 0
};

bool is_special(char c) {
  switch (c) {
    case '(': case ')': case '<': case '>': case '[': case ']': case ':': case ';':
    case '@': case '\\': case ',': case '"':
      return true;
    default:
      return false;
  }
}

struct Lexed {
  std::vector<Token> toks;
  std::vector<std::string> comments;
  std::vector<std::size_t> comment_pos;  // token index each comment precedes
};

Lexed lex(std::string_view s) {
  Lexed out;
  std::size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '(') {
      int depth = 0;
      std::string text;
      while (i < n) {
        char d = s[i++];
        if (d == '\\' && i < n) {
          text.push_back(s[i++]);
          continue;
        }
        if (d == '(') {
          if (depth++ > 0) text.push_back(d);
        } else if (d == ')') {
          if (--depth == 0) break;
          text.push_back(d);
        } else if (d != '\r' && d != '\n') {
          text.push_back(d);
        }
      }
      out.comments.push_back(std::move(text));
      out.comment_pos.push_back(out.toks.size());
    } else if (c == '"') {
      std::size_t b = i++;
      std::string text;
      while (i < n && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < n) ++i;
        if (s[i] != '\r' && s[i] != '\n') text.push_back(s[i]);
        ++i;
      }
      if (i < n) ++i;
      std::string raw;
      for (std::size_t k = b; k < i; ++k)
        if (s[k] != '\r' && s[k] != '\n') raw.push_back(s[k]);
      out.toks.push_back({Tok::quoted, std::move(text), std::move(raw)});
    } else if (c == '[') {
      std::size_t b = i;
      while (i < n && s[i] != ']') ++i;
      if (i < n) ++i;
      std::string t;
      for (std::size_t k = b; k < i; ++k)
        if (s[k] != '\r' && s[k] != '\n') t.push_back(s[k]);
      out.toks.push_back({Tok::literal, t, t});
    } else if (is_special(c)) {
      ++i;
      if (c == ')' || c == ']' || c == '\\') continue;  // stray: ignored
      out.toks.push_back({Tok::special, std::string(1, c), std::string(1, c)});
    } else {
      std::size_t b = i;
      while (i < n && !is_special(s[i]) && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') ++i;
      std::string w(s.substr(b, i - b));
      out.toks.push_back({Tok::word, w, w});
    }
  }
  return out;
}

class Reader {
 public:
  Reader(const Lexed& l, std::size_t max) : l_(l), max_(max) {}

  std::vector<Address> run() {
    while (i_ < l_.toks.size() && out_.size() < max_) one(false);
    return std::move(out_);
  }

 private:
  bool special(char c) const {
    return i_ < l_.toks.size() && l_.toks[i_].kind == Tok::special && l_.toks[i_].text[0] == c;
  }
  bool at_end() const { return i_ >= l_.toks.size(); }

  // The last comment between token indexes [from, to] (inclusive of one just after).
  std::optional<std::string> comment_between(std::size_t from, std::size_t to) const {
    std::optional<std::string> c;
    for (std::size_t k = 0; k < l_.comments.size(); ++k)
      if (l_.comment_pos[k] >= from && l_.comment_pos[k] <= to && !l_.comments[k].empty()) c = l_.comments[k];
    return c;
  }

  void push(Address a) {
    if (out_.size() < max_) out_.push_back(std::move(a));
  }

  static void fill(Address& a) {
    if (a.mailbox.empty()) a.mailbox = "MISSING_MAILBOX";
    if (a.host.empty()) a.host = "MISSING_DOMAIN";
  }

  // local-part and domain up to `end` special (or ',' ';' end); i_ at the first token.
  void addr_spec(Address& a, char end) {
    // A quoted local part is shown without its quotes ("\"a b\"@x" → a b), as Dovecot.
    while (!at_end() && !special('@') && !special(end) && !special(',') && !special(';') && !special('>'))
      a.mailbox += l_.toks[i_++].text;
    if (special('@')) {
      ++i_;
      while (!at_end() && !special(end) && !special(',') && !special(';') && !special('>') && !special('<'))
        a.host += l_.toks[i_++].raw;
    }
  }

  void skip_to_separator(bool in_group) {
    while (!at_end() && !special(',') && !(in_group && special(';'))) ++i_;
  }

  void one(bool in_group) {
    std::size_t start = i_;
    std::string phrase;
    std::size_t words = 0;
    while (!at_end() && l_.toks[i_].kind != Tok::special) {
      if (words++) phrase.push_back(' ');
      phrase += l_.toks[i_].text;
      ++i_;
    }
    if (at_end() || special(',') || special(';')) {
      if (special(',') || (special(';') && !in_group)) ++i_;  // a stray ';' outside a group: skipped
      if (words == 0) return;  // empty element
      Address a;
      a.mailbox = phrase;  // a lone word: mailbox without domain
      fill(a);
      push(std::move(a));
      return;
    }
    char c = l_.toks[i_].text[0];
    if (c == '<') {
      ++i_;
      Address a;
      if (words) a.name = phrase;
      if (special('@')) {  // obsolete route: @a,@b:
        std::string route;
        while (!at_end() && !special(':') && !special('>')) route += l_.toks[i_++].raw;
        if (special(':')) {
          ++i_;
          a.route = route;
        }
      }
      addr_spec(a, '>');
      if (special('>')) ++i_;
      if (!a.name) a.name = comment_between(start, i_);
      skip_to_separator(in_group);
      if (special(',')) ++i_;
      if (a.mailbox.empty() && a.host.empty() && !a.name) return;  // "<>"
      fill(a);
      push(std::move(a));
      return;
    }
    if (c == ':' && !in_group) {
      ++i_;
      Address g;
      g.kind = Address::Kind::group_start;
      g.name = phrase;
      g.mailbox = phrase;
      push(std::move(g));
      while (!at_end() && !special(';') && out_.size() < max_) one(true);
      if (special(';')) ++i_;
      Address e;
      e.kind = Address::Kind::group_end;
      push(std::move(e));
      skip_to_separator(false);
      if (special(',')) ++i_;
      return;
    }
    if (c == '@') {
      i_ = start;
      Address a;
      addr_spec(a, ',');
      a.name = comment_between(start, i_);
      skip_to_separator(in_group);
      if (special(',')) ++i_;
      fill(a);
      push(std::move(a));
      return;
    }
    // Anything else (':' inside a group, '>' alone): skip this element.
    ++i_;
    skip_to_separator(in_group);
    if (special(',')) ++i_;
  }

  const Lexed& l_;
  std::size_t max_;
  std::size_t i_ = 0;
  std::vector<Address> out_;
};

}  // namespace

std::vector<Address> parse_address_list(std::string_view value, std::size_t max_addresses) {
  Lexed l = lex(value);
  return Reader(l, max_addresses).run();
}

}  // namespace tern::mime
