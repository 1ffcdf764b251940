// LIST (RFC 9051 §6.3.9; RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
// SPECIAL-USE, RFC 3348 CHILDREN) and LSUB (RFC 3501 §6.3.9).
// Patterns are matched by imap::list_match (bounded time, no backtracking).
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "tern/imap/list_match.hpp"
#include "tern/imap/response.hpp"

namespace tern::imapd {

namespace {

// RFC 5258 caps nothing; we cap the patterns of one LIST (each costs a scan).
constexpr std::size_t kMaxPatterns = 100;

struct ListOptions {
  bool lsub = false;
  bool sel_subscribed = false, sel_special = false, recursive = false;
  bool ret_subscribed = false, ret_children = true, ret_special = true;
  std::vector<std::string> status_items;
};

// Names in `sorted` (ascending) below `name` in the hierarchy: those starting with
// "name/" are one contiguous run of a sorted list.
template <class Pred>
bool any_descendant(const std::vector<std::string>& sorted, const std::string& name, Pred&& pred) {
  std::string prefix = name + store::kHierarchyDelimiter;
  for (auto it = std::lower_bound(sorted.begin(), sorted.end(), prefix);
       it != sorted.end() && it->starts_with(prefix); ++it)
    if (pred(*it)) return true;
  return false;
}

// One name LIST may answer: an existing mailbox, a subscribed name without a
// mailbox (RFC 5258 \NonExistent), or a hierarchy level above subscribed names.
struct Entry {
  std::string name;
  const store::MailboxInfo* mb = nullptr;  // nullptr: no such mailbox
  bool subscribed = false;
};

}  // namespace

asio::awaitable<void> cmd_list(Session& s, imap::Command& c) {
  ListOptions o;
  o.lsub = c.name == "LSUB";
  std::size_t i = 0;
  const auto& a = c.args;
  if (!o.lsub && i < a.size() && a[i].is_list()) {
    for (const auto& x : a[i].list) {
      if (x.is("SUBSCRIBED")) o.sel_subscribed = true;
      else if (x.is("REMOTE")) {}
      else if (x.is("RECURSIVEMATCH")) o.recursive = true;
      else if (x.is("SPECIAL-USE")) o.sel_special = true;
      else {
        s.bad(c, "unknown LIST selection option");
        co_return;
      }
    }
    if (o.recursive && !o.sel_subscribed && !o.sel_special) {
      s.bad(c, "RECURSIVEMATCH needs another selection option");  // RFC 5258 §3.1
      co_return;
    }
    ++i;
  }
  if (i + 2 > a.size() || !a[i].is_astring()) {
    s.bad(c, "LIST needs a reference and a mailbox pattern");
    co_return;
  }
  std::string ref = a[i].text;
  ++i;
  std::vector<std::string> patterns;
  if (a[i].is_list() && !o.lsub) {
    for (const auto& p : a[i].list) {
      if (!p.is_astring()) {
        s.bad(c, "bad pattern");
        co_return;
      }
      patterns.push_back(p.text);
    }
  } else if (a[i].is_astring()) {
    patterns.push_back(a[i].text);
  } else {
    s.bad(c, "bad pattern");
    co_return;
  }
  if (patterns.size() > kMaxPatterns) {
    s.bad(c, "too many patterns");
    co_return;
  }
  ++i;
  if (i < a.size()) {
    if (o.lsub || !a[i].is("RETURN") || i + 2 != a.size() || !a[i + 1].is_list()) {
      s.bad(c, "bad LIST return options");
      co_return;
    }
    const auto& r = a[i + 1].list;
    for (std::size_t k = 0; k < r.size(); ++k) {
      if (r[k].is("SUBSCRIBED")) o.ret_subscribed = true;
      else if (r[k].is("CHILDREN")) o.ret_children = true;
      else if (r[k].is("SPECIAL-USE")) o.ret_special = true;
      else if (r[k].is("STATUS") && k + 1 < r.size()) {
        if (!parse_status_items(r[k + 1], o.status_items)) {
          s.bad(c, "bad STATUS items");
          co_return;
        }
        ++k;
      } else {
        s.bad(c, "unknown LIST return option");
        co_return;
      }
    }
  }
  if (o.sel_subscribed) o.ret_subscribed = true;

  const char* verb = o.lsub ? "LSUB" : "LIST";
  // RFC 9051 §6.3.9: an empty pattern asks for the delimiter and the root.
  if (patterns.size() == 1 && patterns[0].empty()) {
    s.untagged(std::string(verb) + " (\\Noselect) \"/\" \"\"");
    s.ok(c, std::string(verb) + " completed");
    co_return;
  }
  auto all = s.store().list_mailboxes(s.account, "*");
  if (!all) {
    store_no(s, c, all.error(), "Cannot list mailboxes");
    co_return;
  }
  // Subscriptions are apart from mailboxes (RFC 9051 6.3.7): a selection by SUBSCRIBED
  // (and LSUB) goes over the subscribed names, existing or not, and the levels above
  // them; otherwise over the existing mailboxes.
  const bool by_subs = o.lsub || o.sel_subscribed;
  std::vector<std::string> subs;
  if (by_subs) {
    auto r = s.store().list_subscriptions(s.account);
    if (!r) {
      store_no(s, c, r.error(), "Cannot list subscriptions");
      co_return;
    }
    subs = std::move(*r);
  }
  std::vector<std::string> names;  // every existing mailbox, sorted
  names.reserve(all->size());
  for (const auto& m : *all) names.push_back(m.name);
  std::vector<Entry> entries;
  entries.reserve(all->size() + subs.size());
  for (const auto& m : *all) entries.push_back({m.name, &m, m.subscribed});
  if (by_subs) {
    std::vector<std::string> extra;
    for (const auto& n : subs) {
      extra.push_back(n);
      for (std::size_t p = n.find(store::kHierarchyDelimiter); p != std::string::npos;
           p = n.find(store::kHierarchyDelimiter, p + 1))
        extra.push_back(n.substr(0, p));
    }
    std::sort(extra.begin(), extra.end());
    extra.erase(std::unique(extra.begin(), extra.end()), extra.end());
    for (auto& n : extra) {
      if (std::binary_search(names.begin(), names.end(), n)) continue;
      bool sub = std::binary_search(subs.begin(), subs.end(), n);
      entries.push_back({std::move(n), nullptr, sub});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) { return x.name < y.name; });
  }
  auto matches = [&](const std::string& name) {
    for (const auto& p : patterns) {
      if (p.empty()) continue;
      // RFC 9051 §6.3.9: the reference and the pattern are joined; a pattern that
      // starts with the delimiter is taken as absolute.
      std::string full = p[0] == store::kHierarchyDelimiter ? p : ref + p;
      if (imap::list_match(full, name)) return true;
    }
    return false;
  };
  std::string out;
  for (const auto& e : entries) {
    if (!matches(e.name)) continue;
    const bool special = e.mb && e.mb->special_use != store::SpecialUse::none;
    bool childinfo = false;
    bool lsub_noselect = false;
    if (by_subs && !e.subscribed) {
      // RFC 5258 §3.4 RECURSIVEMATCH: a parent that is not selected itself is listed
      // with CHILDINFO for its subscribed descendants that the patterns do not list
      // themselves. RFC 3501 §6.3.9: LSUB "%" lists the unsubscribed parent of a
      // subscribed name with \Noselect.
      if (o.recursive)
        childinfo = any_descendant(subs, e.name, [&](const std::string& d) { return !matches(d); });
      else if (o.lsub)
        lsub_noselect = any_descendant(subs, e.name, [](const std::string&) { return true; });
      if (!childinfo && !lsub_noselect) continue;
    }
    if (o.sel_special && !special) continue;
    std::string attrs;
    auto add = [&](std::string_view x) {
      if (!attrs.empty()) attrs += ' ';
      attrs += x;
    };
    if (o.lsub) {
      if (lsub_noselect || !e.mb) add("\\Noselect");
    } else {
      if (!e.mb) add("\\NonExistent");  // RFC 5258 §3.4: a subscribed name without a mailbox
      if (o.ret_children)
        add(any_descendant(names, e.name, [](const std::string&) { return true; }) ? "\\HasChildren"
                                                                                    : "\\HasNoChildren");
      if (o.ret_subscribed && e.subscribed) add("\\Subscribed");
      if (o.ret_special && special) add(store::special_use_name(e.mb->special_use));
    }
    out += "* ";
    out += verb;
    out += " (" + attrs + ") \"/\" ";
    imap::append_astring(out, e.name, s.utf8);
    if (childinfo) out += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    out += "\r\n";
    if (!o.status_items.empty() && e.mb) {
      std::string st;
      if (status_response(s, *e.mb, o.status_items, st)) out += st + "\r\n";
    }
  }
  s.write(out);
  s.sync_mailbox(true);
  s.ok(c, std::string(verb) + " completed");
}

}  // namespace tern::imapd
