// STATUS (RFC 9051 §6.3.11), also used by LIST-STATUS (RFC 5819).
#include <cctype>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "tern/imap/response.hpp"

namespace tern::imapd {

bool parse_status_items(const imap::Arg& list, std::vector<std::string>& items) {
  if (!list.is_list() || list.list.empty()) return false;
  static const char* const kItems[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN",
                                       "DELETED",  "SIZE",    "HIGHESTMODSEQ", "RECENT"};
  for (const auto& a : list.list) {
    bool known = false;
    for (const char* k : kItems)
      if (a.is(k)) {
        items.emplace_back(k);
        known = true;
      }
    if (!known) return false;
  }
  return true;
}

bool status_response(Session& s, const store::MailboxInfo& mb, const std::vector<std::string>& items,
                     std::string& out) {
  std::uint32_t deleted = 0, recent = 0;
  bool need_deleted = false, need_recent = false;
  for (const auto& i : items) {
    need_deleted |= i == "DELETED";
    need_recent |= i == "RECENT";
  }
  if (need_deleted) {
    auto r = s.store().for_each_message(mb.id, {}, [&](const store::MessageMeta& m) {
      if (m.flags & store::kDeleted) ++deleted;
      return true;
    });
    if (!r) return false;
  }
  if (need_recent && mb.first_recent_uid < mb.uidnext) {
    // RFC 3501 §6.3.10: the messages no session has claimed as \Recent yet (the
    // next read-write SELECT would show these).
    auto r = s.store().for_each_message(mb.id, {mb.first_recent_uid, 0xffffffffu},
                                        [&](const store::MessageMeta&) {
                                          ++recent;
                                          return true;
                                        });
    if (!r) return false;
  }
  out += "* STATUS ";
  imap::append_astring(out, mb.name, s.utf8);
  out += " (";
  bool first = true;
  for (const auto& i : items) {
    if (!first) out += ' ';
    first = false;
    out += i + " ";
    if (i == "MESSAGES") out += std::to_string(mb.messages);
    else if (i == "UIDNEXT") out += std::to_string(mb.uidnext);
    else if (i == "UIDVALIDITY") out += std::to_string(mb.uidvalidity);
    else if (i == "UNSEEN") out += std::to_string(mb.unseen);
    else if (i == "DELETED") out += std::to_string(deleted);
    else if (i == "SIZE") out += std::to_string(mb.size);
    else if (i == "HIGHESTMODSEQ") out += std::to_string(mb.highestmodseq);
    else if (i == "RECENT") out += std::to_string(recent);
  }
  out += ")";
  return true;
}

asio::awaitable<void> cmd_status(Session& s, imap::Command& c) {
  std::vector<std::string> items;
  if (c.args.size() != 2 || !c.args[0].is_astring() || !parse_status_items(c.args[1], items)) {
    s.bad(c, "STATUS needs a mailbox name and a list of items");
    co_return;
  }
  for (const auto& i : items)
    if (i == "HIGHESTMODSEQ") s.enable_condstore();  // RFC 7162 §3.1: a CONDSTORE-enabling command
  auto mb = s.store().get_mailbox(s.account, mailbox_name(c.args[0]));
  if (!mb) {
    store_no(s, c, mb.error(), "No such mailbox");
    co_return;
  }
  std::string out;
  if (!status_response(s, *mb, items, out)) {
    s.no(c, "[UNAVAILABLE] Cannot read mailbox");
    co_return;
  }
  s.untagged(out.substr(2));
  s.sync_mailbox(true);
  s.ok(c, "STATUS completed");
}

store::SpecialUse special_use_from(std::string_view attr) {
  std::string u(attr);
  for (auto& ch : u) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (u == "\\sent") return store::SpecialUse::sent;
  if (u == "\\drafts") return store::SpecialUse::drafts;
  if (u == "\\junk") return store::SpecialUse::junk;
  if (u == "\\trash") return store::SpecialUse::trash;
  if (u == "\\archive") return store::SpecialUse::archive;
  if (u == "\\all") return store::SpecialUse::all;
  if (u == "\\flagged") return store::SpecialUse::flagged;
  return store::SpecialUse::none;
}

}  // namespace tern::imapd
