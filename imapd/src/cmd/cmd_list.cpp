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

bool has_child(const std::vector<store::MailboxInfo>& all, const std::string& name) {
  std::string prefix = name + store::kHierarchyDelimiter;
  for (const auto& m : all)
    if (m.name.size() > prefix.size() && m.name.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}

bool has_subscribed_child(const std::vector<store::MailboxInfo>& all, const std::string& name) {
  std::string prefix = name + store::kHierarchyDelimiter;
  for (const auto& m : all)
    if (m.subscribed && m.name.size() > prefix.size() && m.name.compare(0, prefix.size(), prefix) == 0)
      return true;
  return false;
}

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
  std::string out;
  for (const auto& m : *all) {
    bool matched = false;
    for (const auto& p : patterns) {
      if (p.empty()) continue;
      // RFC 9051 §6.3.9: the reference and the pattern are joined; a pattern that
      // starts with the delimiter is taken as absolute.
      std::string full = (!p.empty() && p[0] == store::kHierarchyDelimiter) ? p : ref + p;
      if (imap::list_match(full, m.name)) matched = true;
    }
    if (!matched) continue;
    const bool special = m.special_use != store::SpecialUse::none;
    bool childinfo = false;
    bool lsub_noselect = false;
    if (o.lsub || o.sel_subscribed) {
      if (!m.subscribed) {
        if (o.recursive && has_subscribed_child(*all, m.name)) childinfo = true;
        // RFC 3501 §6.3.9: LSUB "%" lists an unsubscribed parent of subscribed
        // children with \Noselect.
        else if (o.lsub && has_subscribed_child(*all, m.name)) lsub_noselect = true;
        else continue;
      }
    }
    if (o.sel_special && !special) continue;
    std::string attrs;
    auto add = [&](std::string_view x) {
      if (!attrs.empty()) attrs += ' ';
      attrs += x;
    };
    if (childinfo && !m.subscribed) {
      // Listed only for CHILDINFO: it exists (all our parents exist).
    }
    if (lsub_noselect) add("\\Noselect");
    if (o.ret_children && !o.lsub) add(has_child(*all, m.name) ? "\\HasChildren" : "\\HasNoChildren");
    if ((o.ret_subscribed || o.lsub) && m.subscribed && !o.lsub) add("\\Subscribed");
    if (o.ret_special && special) add(store::special_use_name(m.special_use));
    out += "* ";
    out += verb;
    out += " (" + attrs + ") \"/\" ";
    imap::append_astring(out, m.name, s.utf8);
    if (childinfo) out += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    out += "\r\n";
    if (!o.status_items.empty()) {
      std::string st;
      if (status_response(s, m, o.status_items, st)) out += st + "\r\n";
    }
  }
  s.write(out);
  s.sync_mailbox(true);
  s.ok(c, std::string(verb) + " completed");
}

}  // namespace tern::imapd
