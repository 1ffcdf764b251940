// RFC 5256: base subject, sent date, THREAD=REFERENCES and THREAD=ORDEREDSUBJECT.
// Iterative throughout (no recursion), with a shared loop-check budget: see thread.hpp.
#include "tern/mime/thread.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "mime_internal.hpp"
#include "tern/mime/decode.hpp"

namespace tern::mime {

// ------------------------------------------------------------------ base subject
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// subj-blob at s[i]: "[" *BLOBCHAR "]" *WSP; returns the end or npos.
std::size_t match_blob(std::string_view s, std::size_t i) {
  if (i >= s.size() || s[i] != '[') return std::string_view::npos;
  std::size_t j = i + 1;
  while (j < s.size() && s[j] != '[' && s[j] != ']') ++j;
  if (j >= s.size() || s[j] != ']') return std::string_view::npos;
  ++j;
  while (j < s.size() && is_wsp(s[j])) ++j;
  return j;
}

// subj-refwd at s[i]: ("re" / "fw" ["d"]) *WSP [subj-blob] ":"; s is lower-case.
std::size_t match_refwd(std::string_view s, std::size_t i) {
  std::size_t j;
  if (s.substr(i, 3) == "fwd") j = i + 3;
  else if (s.substr(i, 2) == "fw" || s.substr(i, 2) == "re") j = i + 2;
  else return std::string_view::npos;
  while (j < s.size() && is_wsp(s[j])) ++j;
  if (std::size_t b = match_blob(s, j); b != std::string_view::npos) j = b;
  if (j < s.size() && s[j] == ':') return j + 1;
  return std::string_view::npos;
}

}  // namespace

std::string base_subject(std::string_view raw, bool* is_reply) {
  bool reply = false;
  // (1) decode, tabs and continuations to spaces, collapse spaces.
  std::string dec = fold_case(decode_header_value(raw));
  std::string s;
  s.reserve(dec.size());
  for (char c : dec) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s.push_back(c);
  }
  // The subject is the window [b, e) of s: leaders are removed by moving b, trailers by
  // moving e, so "Re: " x 20,000 costs one pass, not an erase (a copy of the rest) each.
  std::size_t b = 0, e = s.size();
  for (int round = 0; round < 1000; ++round) {
    // (2) trailers: "(fwd)" and WSP at the end.
    for (;;) {
      if (e > b && s[e - 1] == ' ') {
        --e;
      } else if (e - b >= 5 && s.compare(e - 5, 5, "(fwd)") == 0) {
        e -= 5;
        reply = true;
      } else {
        break;
      }
    }
    const std::string_view w(s.data(), e);  // the blobs and leaders end where the subject does
    // (3)-(5) leaders and blobs.
    for (bool changed = true; changed;) {
      changed = false;
      while (b < e && s[b] == ' ') {
        ++b;
        changed = true;
      }
      // (3) *subj-blob subj-refwd
      std::size_t j = b, last_blob = std::string_view::npos;
      for (;;) {
        std::size_t nb = match_blob(w, j);
        if (nb == std::string_view::npos) break;
        last_blob = j;
        j = nb;
      }
      if (std::size_t r = match_refwd(w, j); r != std::string_view::npos) {
        b = r;
        reply = true;
        changed = true;
        continue;
      }
      // (4) a leading blob goes if something remains after it. Applied one blob at a
      // time it removes the whole run when text follows it, else all but the last
      // blob; the run was scanned already, so jump (no rescan per blob: quadratic).
      if (last_blob != std::string_view::npos) {
        std::size_t to = j < e ? j : last_blob;
        if (to > b) {
          b = to;
          changed = true;
        }
      }
    }
    // (6) "[fwd:" ... "]"
    if (e - b >= 6 && s.compare(b, 5, "[fwd:") == 0 && s[e - 1] == ']') {
      b += 5;
      e -= 1;
      reply = true;
      continue;
    }
    break;
  }
  if (is_reply) *is_reply = reply;
  return s.substr(b, e - b);
}

// ------------------------------------------------------------------ dates
namespace {

int month_index(std::string_view m) {
  static const char* names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (m.size() < 3) return -1;
  std::string l = detail::lower(m.substr(0, 3));
  for (int i = 0; i < 12; ++i)
    if (l == names[i]) return i;
  return -1;
}

// Days from 1970-01-01 to y-m-d (civil calendar).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::optional<std::int64_t> parse_date(std::string_view raw) {
  // Tokens: words and numbers; ':' splits time; comments skipped.
  std::string v = unfold(raw);
  std::vector<std::string> tok;
  for (std::size_t i = 0; i < v.size() && tok.size() < 16;) {
    char c = v[i];
    if (c == '(') {
      int depth = 0;
      while (i < v.size()) {
        if (v[i] == '(') ++depth;
        else if (v[i] == ')' && --depth == 0) { ++i; break; }
        ++i;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == ',') {
      ++i;
      continue;
    }
    std::size_t b = i;
    while (i < v.size() && v[i] != ' ' && v[i] != '\t' && v[i] != ',' && v[i] != '(') ++i;
    tok.emplace_back(v.substr(b, i - b));
  }
  std::size_t k = 0;
  if (k < tok.size() && !tok[k].empty() && std::isalpha(static_cast<unsigned char>(tok[k][0]))) ++k;  // weekday
  auto number = [](const std::string& t, long& out) {
    if (t.empty() || t.size() > 9) return false;
    out = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  long day, year;
  if (k + 3 > tok.size()) return std::nullopt;
  if (!number(tok[k], day) || day < 1 || day > 31) return std::nullopt;
  int mon = month_index(tok[k + 1]);
  if (mon < 0) return std::nullopt;
  if (!number(tok[k + 2], year)) return std::nullopt;
  if (tok[k + 2].size() <= 2) year += year < 50 ? 2000 : 1900;  // RFC 5322 4.3
  else if (tok[k + 2].size() == 3) year += 1900;
  k += 3;
  long hh = 0, mm = 0, ss = 0;
  if (k < tok.size()) {
    const std::string& t = tok[k];
    std::size_t c1 = t.find(':');
    if (c1 != std::string::npos) {
      std::size_t c2 = t.find(':', c1 + 1);
      if (!number(t.substr(0, c1), hh) ||
          !number(t.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1), mm))
        return std::nullopt;
      if (c2 != std::string::npos && !number(t.substr(c2 + 1), ss)) return std::nullopt;
      if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
      ++k;
    }
  }
  long offset = 0;  // minutes east of UTC; a missing or unknown zone is +0000 (RFC 5322 4.3)
  if (k < tok.size()) {
    const std::string& z = tok[k];
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5) {
      long n;
      if (number(z.substr(1), n)) offset = (z[0] == '-' ? -1 : 1) * ((n / 100) * 60 + n % 100);
    } else {
      std::string l = detail::lower(z);
      static const std::pair<const char*, int> zones[] = {{"ut", 0},       {"gmt", 0},      {"utc", 0},
                                                         {"est", -5 * 60}, {"edt", -4 * 60}, {"cst", -6 * 60},
                                                         {"cdt", -5 * 60}, {"mst", -7 * 60}, {"mdt", -6 * 60},
                                                         {"pst", -8 * 60}, {"pdt", -7 * 60}};
      for (const auto& [n, o] : zones)
        if (l == n) offset = o;
    }
  }
  std::int64_t days = days_from_civil(year, static_cast<unsigned>(mon + 1), static_cast<unsigned>(day));
  return days * 86400 + hh * 3600 + mm * 60 + ss - offset * 60;
}

std::int64_t sent_date(std::string_view msg, const Part& root, std::int64_t internal_date) {
  auto d = root.header(msg, "date");
  if (!d) return internal_date;
  return parse_date(*d).value_or(internal_date);
}

std::vector<std::string> parse_message_ids(std::string_view raw, std::size_t max) {
  std::vector<std::string> ids;
  std::size_t i = 0;
  while (i < raw.size()) {
    std::size_t lt = raw.find('<', i);
    if (lt == std::string_view::npos) break;
    std::size_t gt = raw.find('>', lt + 1);
    if (gt == std::string_view::npos) break;
    std::string id;
    for (std::size_t k = lt + 1; k < gt; ++k)
      if (raw[k] != ' ' && raw[k] != '\t' && raw[k] != '\r' && raw[k] != '\n') id.push_back(raw[k]);
    if (!id.empty()) ids.push_back(std::move(id));
    i = gt + 1;
  }
  if (ids.size() > max) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(max));
  return ids;
}

ThreadMessage thread_message(std::string_view msg, const Part& root, std::uint32_t id, std::int64_t internal_date) {
  ThreadMessage t;
  t.id = id;
  if (auto v = root.header(msg, "message-id")) {
    auto ids = parse_message_ids(*v, 1);
    if (!ids.empty()) t.message_id = ids[0];
  }
  if (auto r = root.header(msg, "references"); r && !parse_message_ids(*r, 1).empty()) {
    // Only the last max_references are linked (thread_references): keeping no more
    // bounds what THREAD holds per message of the mailbox.
    t.references = parse_message_ids(*r, ThreadLimits{}.max_references);
  } else if (auto irt = root.header(msg, "in-reply-to")) {
    auto ids = parse_message_ids(*irt, 1000);
    if (!ids.empty()) t.references = {ids.front()};  // RFC 5256: the first id of In-Reply-To
  }
  t.base_subject = base_subject(root.header(msg, "subject").value_or(""), &t.subject_is_reply);
  t.sent_date = sent_date(msg, root, internal_date);
  return t;
}

// ------------------------------------------------------------------ threads
namespace {

constexpr int kNone = -1;

struct Container {
  int msg = kNone;  // index into the messages, or kNone for a dummy
  int parent = kNone;
  std::uint32_t nchildren = 0;  // during step 1 (children is filled after it)
  std::vector<int> children;
  std::int64_t date = 0;  // sort key: own sent date, or first child's
  std::uint32_t id = 0;   // tie-break: own id, or first child's
};

struct Forest {
  std::vector<Container> c;
  std::vector<int> roots;
};

// Post-order over the subtrees of `starts` without recursion.
template <class F>
void post_order(Forest& f, const std::vector<int>& starts, F&& visit) {
  std::vector<std::pair<int, std::size_t>> stack;
  for (int s : starts) {
    stack.push_back({s, 0});
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < f.c[static_cast<std::size_t>(n)].children.size()) {
        int child = f.c[static_cast<std::size_t>(n)].children[i++];
        stack.push_back({child, 0});
      } else {
        int done = n;
        stack.pop_back();
        visit(done);
      }
    }
  }
}

bool earlier(const Forest& f, int a, int b) {
  const Container& x = f.c[static_cast<std::size_t>(a)];
  const Container& y = f.c[static_cast<std::size_t>(b)];
  if (x.date != y.date) return x.date < y.date;
  return x.id < y.id;
}

void sort_children(Forest& f, const std::vector<ThreadMessage>& msgs) {
  post_order(f, f.roots, [&](int n) {
    Container& c = f.c[static_cast<std::size_t>(n)];
    std::stable_sort(c.children.begin(), c.children.end(), [&](int a, int b) { return earlier(f, a, b); });
    if (c.msg != kNone) {
      c.date = msgs[static_cast<std::size_t>(c.msg)].sent_date;
      c.id = msgs[static_cast<std::size_t>(c.msg)].id;
    } else if (!c.children.empty()) {
      const Container& first = f.c[static_cast<std::size_t>(c.children[0])];
      c.date = first.date;
      c.id = first.id;
    }
  });
}

void render(const Forest& f, const std::vector<ThreadMessage>& msgs, std::string& out) {
  // Tasks: a node to print, or a literal ')' / '(' to emit.
  struct Task {
    int node;
    char text;
  };
  std::vector<Task> stack;
  for (int r : f.roots) {
    out += '(';
    stack.push_back({kNone, ')'});
    stack.push_back({r, 0});
    while (!stack.empty()) {
      Task t = stack.back();
      stack.pop_back();
      if (t.node == kNone) {
        out += t.text;
        continue;
      }
      const Container& c = f.c[static_cast<std::size_t>(t.node)];
      bool printed = c.msg != kNone;
      if (printed) out += std::to_string(msgs[static_cast<std::size_t>(c.msg)].id);
      if (c.children.size() == 1 && printed) {
        out += ' ';
        stack.push_back({c.children[0], 0});
      } else if (!c.children.empty()) {
        if (printed) out += ' ';
        for (auto it = c.children.rbegin(); it != c.children.rend(); ++it) {
          stack.push_back({kNone, ')'});
          stack.push_back({*it, 0});
          stack.push_back({kNone, '('});
        }
      }
    }
  }
}

}  // namespace

std::string thread_references(const std::vector<ThreadMessage>& msgs, const ThreadLimits& limits) {
  Forest f;
  std::unordered_map<std::string, int> table;
  f.c.reserve(msgs.size() * 2);
  auto container = [&](const std::string& mid) {
    auto [it, fresh] = table.try_emplace(mid, static_cast<int>(f.c.size()));
    if (fresh) f.c.emplace_back();
    return it->second;
  };
  std::uint64_t budget = limits.loop_check_budget;
  // Is `a` an ancestor of `b` (or b itself)? Out of budget counts as yes (no link).
  auto is_ancestor = [&](int a, int b) {
    if (a == b) return true;
    if (f.c[static_cast<std::size_t>(a)].nchildren == 0) return false;  // a leaf is nobody's ancestor
    for (int x = b; x != kNone; x = f.c[static_cast<std::size_t>(x)].parent) {
      if (x == a) return true;
      if (budget == 0) return true;
      --budget;
    }
    return false;
  };

  auto set_parent = [&](int child, int parent) {
    Container& c = f.c[static_cast<std::size_t>(child)];
    if (c.parent != kNone) --f.c[static_cast<std::size_t>(c.parent)].nchildren;
    c.parent = parent;
    if (parent != kNone) ++f.c[static_cast<std::size_t>(parent)].nchildren;
  };

  // Step 1: containers and links. Messages in id order (sequence order, RFC 5256).
  std::vector<std::size_t> order(msgs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return msgs[a].id < msgs[b].id; });
  for (std::size_t i : order) {
    const ThreadMessage& m = msgs[i];
    int self;
    auto it = m.message_id.empty() ? table.end() : table.find(m.message_id);
    if (m.message_id.empty() || (it != table.end() && f.c[static_cast<std::size_t>(it->second)].msg != kNone)) {
      self = static_cast<int>(f.c.size());  // no or duplicate Message-ID: a unique container
      f.c.emplace_back();
    } else {
      self = container(m.message_id);
    }
    f.c[static_cast<std::size_t>(self)].msg = static_cast<int>(i);
    // 1A: link the references in order, parent before child.
    std::size_t first = m.references.size() > limits.max_references ? m.references.size() - limits.max_references : 0;
    int prev = kNone;
    for (std::size_t r = first; r < m.references.size(); ++r) {
      int rc = container(m.references[r]);
      if (prev != kNone && rc != prev && f.c[static_cast<std::size_t>(rc)].parent == kNone && !is_ancestor(rc, prev))
        set_parent(rc, prev);
      prev = rc;
    }
    // 1B: the message's parent is the last reference (replacing an earlier guess).
    if (prev == kNone)
      set_parent(self, kNone);
    else if (prev != self && !is_ancestor(self, prev))
      set_parent(self, prev);
  }
  for (std::size_t n = 0; n < f.c.size(); ++n) {
    int p = f.c[n].parent;
    if (p == kNone)
      f.roots.push_back(static_cast<int>(n));
    else
      f.c[static_cast<std::size_t>(p)].children.push_back(static_cast<int>(n));
  }

  // Step 3: prune dummies (bottom-up): empty ones go, others give their children to
  // their parent (at the root only if they have a single child).
  std::vector<char> drop(f.c.size(), 0), promote(f.c.size(), 0);
  auto splice = [&](std::vector<int>& list) {
    std::vector<int> out;
    out.reserve(list.size());
    for (int ch : list) {
      if (drop[static_cast<std::size_t>(ch)]) continue;
      if (promote[static_cast<std::size_t>(ch)]) {
        for (int g : f.c[static_cast<std::size_t>(ch)].children) out.push_back(g);
      } else {
        out.push_back(ch);
      }
    }
    list.swap(out);
  };
  post_order(f, f.roots, [&](int n) {
    Container& c = f.c[static_cast<std::size_t>(n)];
    splice(c.children);
    if (c.msg != kNone) return;
    if (c.children.empty())
      drop[static_cast<std::size_t>(n)] = 1;
    else if (c.parent != kNone || c.children.size() == 1)
      promote[static_cast<std::size_t>(n)] = 1;
  });
  splice(f.roots);
  for (int r : f.roots) f.c[static_cast<std::size_t>(r)].parent = kNone;

  // Step 4: sort (children first, then the root set by date).
  sort_children(f, msgs);
  std::stable_sort(f.roots.begin(), f.roots.end(), [&](int a, int b) { return earlier(f, a, b); });

  // Step 5: merge roots by base subject.
  auto subject_of = [&](int n) -> const ThreadMessage* {
    const Container& c = f.c[static_cast<std::size_t>(n)];
    int m = c.msg != kNone ? c.msg : f.c[static_cast<std::size_t>(c.children[0])].msg;
    if (m == kNone) return nullptr;
    return &msgs[static_cast<std::size_t>(m)];
  };
  std::unordered_map<std::string, int> subj;
  for (int r : f.roots) {
    const ThreadMessage* t = subject_of(r);
    if (!t || t->base_subject.empty()) continue;
    auto [it, fresh] = subj.try_emplace(t->base_subject, r);
    if (fresh) continue;
    const Container& old = f.c[static_cast<std::size_t>(it->second)];
    const ThreadMessage* ot = subject_of(it->second);
    bool this_dummy = f.c[static_cast<std::size_t>(r)].msg == kNone;
    if ((this_dummy && old.msg != kNone) || (ot && ot->subject_is_reply && !t->subject_is_reply && !this_dummy))
      it->second = r;
  }
  std::vector<int> new_roots;
  std::vector<int> replaced(f.c.size(), kNone);  // table root → the dummy that replaced it
  for (int r : f.roots) {
    if (replaced[static_cast<std::size_t>(r)] != kNone) {  // wrapped into a new dummy already
      new_roots.push_back(r);
      continue;
    }
    const ThreadMessage* t = subject_of(r);
    auto it = (t && !t->base_subject.empty()) ? subj.find(t->base_subject) : subj.end();
    if (it == subj.end() || it->second == r) {
      new_roots.push_back(r);
      continue;
    }
    int keep = it->second;
    Container& k = f.c[static_cast<std::size_t>(keep)];
    Container& me = f.c[static_cast<std::size_t>(r)];
    bool k_dummy = k.msg == kNone, me_dummy = me.msg == kNone;
    if (k_dummy && me_dummy) {
      for (int ch : me.children) k.children.push_back(ch);
      me.children.clear();
    } else if (k_dummy) {
      k.children.push_back(r);
    } else if (!me_dummy && t->subject_is_reply && !msgs[static_cast<std::size_t>(k.msg)].subject_is_reply) {
      k.children.push_back(r);
    } else {
      // A new dummy holding both, in the place of the kept one.
      int d = static_cast<int>(f.c.size());
      f.c.emplace_back();
      f.c[static_cast<std::size_t>(d)].children = {keep, r};
      replaced.push_back(kNone);
      replaced[static_cast<std::size_t>(keep)] = d;
      it->second = d;
    }
  }
  for (int& r : new_roots) {
    while (replaced[static_cast<std::size_t>(r)] != kNone) r = replaced[static_cast<std::size_t>(r)];
  }
  f.roots.swap(new_roots);

  // Step 6: sort every set of siblings by sent date (the root order stays).
  sort_children(f, msgs);
  std::string out;
  render(f, msgs, out);
  return out;
}

std::string thread_orderedsubject(const std::vector<ThreadMessage>& msgs) {
  std::vector<std::size_t> order(msgs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = msgs[a];
    const auto& y = msgs[b];
    if (x.base_subject != y.base_subject) return x.base_subject < y.base_subject;
    if (x.sent_date != y.sent_date) return x.sent_date < y.sent_date;
    return x.id < y.id;
  });
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) in order
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i + 1;
    while (j < order.size() && msgs[order[j]].base_subject == msgs[order[i]].base_subject) ++j;
    groups.push_back({i, j});
    i = j;
  }
  std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) {
    const auto& x = msgs[order[a.first]];
    const auto& y = msgs[order[b.first]];
    if (x.sent_date != y.sent_date) return x.sent_date < y.sent_date;
    return x.id < y.id;
  });
  std::string out;
  for (const auto& [b, e] : groups) {
    out += '(';
    out += std::to_string(msgs[order[b]].id);
    if (e - b == 2) {
      out += ' ';
      out += std::to_string(msgs[order[b + 1]].id);
    } else if (e - b > 2) {
      out += ' ';
      for (std::size_t k = b + 1; k < e; ++k) {
        out += '(';
        out += std::to_string(msgs[order[k]].id);
        out += ')';
      }
    }
    out += ')';
  }
  return out;
}

}  // namespace tern::mime
