#include "cmd/fetch_items.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace tern::imapd {

namespace {

using Item = FetchItemsPlan::Item;

constexpr std::uint32_t kSystemFlags = store::kSeen | store::kAnswered | store::kFlagged | store::kDeleted | store::kDraft;
static_assert(kSystemFlags == 0x1f);

// "(\Seen \Answered" for each combination of the system flags (bits 0-4) and \Recent
// (bit 5), without the ")": made by append_flag_list itself, so the answer is its own.
const std::array<std::string, 64>& flag_prefixes() {
  static const std::array<std::string, 64> table = [] {
    std::array<std::string, 64> t;
    for (std::uint32_t i = 0; i < 64; ++i) {
      append_flag_list(t[i], i & kSystemFlags, "", (i & 32) != 0);
      t[i].pop_back();
    }
    return t;
  }();
  return table;
}

// Writes into a buffer sized for the line (see line_bound).
struct Writer {
  char* p;
  void put(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void put(char c) { *p++ = c; }
  void num(std::uint64_t n) { p = std::to_chars(p, p + 20, n).ptr; }
};

// The longest a line of `plan` can be, with a flag list of `flags_len` octets.
std::size_t line_bound(const FetchItemsPlan& plan, std::size_t flags_len) {
  std::size_t n = 2 + 20 + 8 + 3;  // "* " n " FETCH (" ... ")\r\n"
  for (Item it : plan.items) {
    switch (it) {
      case Item::Flags: n += 7 + flags_len; break;     // " FLAGS " (...)
      case Item::Uid: n += 5 + 20; break;              // " UID " n
      case Item::ModSeq: n += 9 + 20 + 1; break;       // " MODSEQ (" n ")"
      case Item::Size: n += 13 + 20; break;            // " RFC822.SIZE " n
    }
  }
  return n;
}

}  // namespace

bool plan_fetch_items(const imap::FetchRequest& req, bool uid_command, bool want_modseq, FetchItemsPlan& plan) {
  using K = imap::FetchAtt::Kind;
  plan.items.clear();
  bool has_flags = false, has_uid = false, has_modseq = false;
  for (const auto& a : req.atts) {
    switch (a.kind) {
      case K::Flags:
        if (!has_flags) plan.items.push_back(Item::Flags);
        has_flags = true;
        break;
      case K::Uid:
        if (!has_uid) plan.items.push_back(Item::Uid);
        has_uid = true;
        break;
      case K::ModSeq:
        if (!has_modseq) plan.items.push_back(Item::ModSeq);
        has_modseq = true;
        break;
      case K::Rfc822Size:
        plan.items.push_back(Item::Size);  // as the general loop: once per mention
        break;
      default:
        return false;
    }
  }
  if (uid_command && !has_uid) plan.items.push_back(Item::Uid);
  if (want_modseq && !has_modseq) plan.items.push_back(Item::ModSeq);
  return true;
}

void append_fetch_items(std::string& out, const MailboxView& v, std::size_t i, const FetchItemsPlan& plan) {
  const ViewMsg& m = v.msgs[i];
  const std::string_view kws = v.keywords_of(m);
  const bool table = (m.flags & ~kSystemFlags) == 0;
  std::string_view prefix;
  std::string slow;  // a flag list the table does not cover (a flag bit unknown here)
  if (table) {
    prefix = flag_prefixes()[m.flags | (m.recent ? 32u : 0u)];
  } else {
    append_flag_list(slow, m.flags, kws, m.recent);
  }
  const std::size_t flags_len = table ? prefix.size() + 1 + kws.size() + 1 : slow.size();
  const std::size_t at = out.size();
  out.resize(at + line_bound(plan, flags_len));
  Writer w{out.data() + at};
  w.put("* ");
  w.num(i + 1);
  w.put(" FETCH (");
  bool first = true;
  for (Item it : plan.items) {
    if (!first) w.put(' ');
    first = false;
    switch (it) {
      case Item::Flags:
        w.put("FLAGS ");
        if (!table) {
          w.put(slow);
          break;
        }
        w.put(prefix);
        if (!kws.empty()) {
          if (prefix.size() > 1) w.put(' ');
          w.put(kws);
        }
        w.put(')');
        break;
      case Item::Uid:
        w.put("UID ");
        w.num(m.uid);
        break;
      case Item::ModSeq:
        w.put("MODSEQ (");
        w.num(m.modseq);
        w.put(')');
        break;
      case Item::Size:
        w.put("RFC822.SIZE ");
        w.num(m.size);
        break;
    }
  }
  w.put(")\r\n");
  out.resize(static_cast<std::size_t>(w.p - out.data()));
}

}  // namespace tern::imapd
