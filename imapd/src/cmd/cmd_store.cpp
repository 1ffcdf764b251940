// STORE and UID STORE (RFC 9051 §6.4.6; RFC 7162 §3.1.3 UNCHANGEDSINCE / MODIFIED).
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"

namespace tern::imapd {

asio::awaitable<void> cmd_store(Session& s, imap::Command& c) {
  imap::SequenceSet set;
  std::size_t i = 0;
  if (c.args.size() < 3 || !c.args[0].is_atom() ||
      !imap::parse_sequence_set(c.args[0].text, s.svc().sequence_ranges(), set)) {
    s.bad(c, "STORE needs a sequence set, an item and flags");
    co_return;
  }
  i = 1;
  std::optional<store::ModSeq> unchanged;
  if (c.args[i].is_list()) {
    const auto& m = c.args[i].list;
    std::uint64_t v = 0;
    if (m.size() != 2 || !m[0].is("UNCHANGEDSINCE") || !parse_u64(m[1], v)) {
      s.bad(c, "bad STORE modifier");
      co_return;
    }
    unchanged = v;
    s.enable_condstore();
    ++i;
  }
  if (i + 2 > c.args.size() || !c.args[i].is_atom()) {
    s.bad(c, "STORE needs an item and flags");
    co_return;
  }
  std::string item = c.args[i].text;
  for (auto& ch : item) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  bool silent = false;
  if (item.size() > 7 && item.compare(item.size() - 7, 7, ".SILENT") == 0) {
    silent = true;
    item.resize(item.size() - 7);
  }
  store::FlagUpdate up;
  if (item == "FLAGS") up.op = store::FlagUpdate::Op::replace;
  else if (item == "+FLAGS") up.op = store::FlagUpdate::Op::add;
  else if (item == "-FLAGS") up.op = store::FlagUpdate::Op::remove;
  else {
    s.bad(c, "STORE item must be FLAGS, +FLAGS or -FLAGS");
    co_return;
  }
  imap::FlagList fl;
  ++i;
  // The flags: one list, or flags as separate atoms (RFC 9051 store-att-flags).
  if (c.args[i].is_list() && i + 1 == c.args.size()) {
    if (!imap::parse_flag_list(c.args[i], fl)) {
      s.bad(c, "bad flag");
      co_return;
    }
  } else {
    for (; i < c.args.size(); ++i)
      if (!c.args[i].is_atom() || !imap::parse_flag(c.args[i].text, fl)) {
        s.bad(c, "bad flag");
        co_return;
      }
  }
  up.flags = fl.flags;
  up.keywords = fl.keywords;
  up.unchanged_since = unchanged;
  MailboxView& v = *s.mailbox;
  if (v.readonly) {
    s.no(c, "[READ-ONLY] Mailbox is read-only");
    co_return;
  }
  std::vector<std::size_t> idx = v.select(set, s.cmd_uid);
  if (!s.cmd_uid && idx.empty()) {
    s.bad(c, "Invalid message sequence number");
    co_return;
  }
  std::vector<store::Uid> uids;
  for (std::size_t k : idx)
    if (!v.msgs[k].expunged) uids.push_back(v.msgs[k].uid);
  std::vector<store::Uid> modified;
  if (!uids.empty()) {
    store::UidSet us = to_uid_set(uids);
    store::Store* st = &s.store();
    store::MailboxId id = v.info.id;
    const store::UidSet* pus = &us;
    const store::FlagUpdate* pup = &up;
    auto job = [st, id, pus, pup]() { return st->set_flags(id, *pus, *pup); };
    auto r = co_await s.conn().run_blocking(std::move(job));
    if (!r) {
      store_no(s, c, r.error(), "Cannot store flags");
      co_return;
    }
    if (!s.mailbox) co_return;
    bool new_kw = false;
    for (const auto& rec : r->changed) {
      if (s.mailbox->learn_keywords(rec.keywords)) new_kw = true;
      s.mailbox->apply(rec);
    }
    if (new_kw) s.write(s.mailbox->flags_responses());
    modified = r->modified;
    // Answer for every message of the set (non-silent), or with CONDSTORE for the
    // changed ones even when silent (RFC 7162 §3.1.3: MODSEQ must reach the client).
    std::vector<bool> changed(s.mailbox->msgs.size(), false);
    for (const auto& rec : r->changed)
      if (auto seq = s.mailbox->seq_of_uid(rec.uid)) changed[seq - 1] = true;
    std::string out;
    for (std::size_t k : idx) {
      const ViewMsg& m = s.mailbox->msgs[k];
      if (m.expunged) continue;
      bool was_modified = std::find(modified.begin(), modified.end(), m.uid) != modified.end();
      if (was_modified) continue;
      if (silent && !(s.condstore && changed[k])) continue;
      out += "* " + std::to_string(k + 1) + " FETCH (";
      std::string items;
      if (!silent) items += "FLAGS " + flag_list(m.flags, s.mailbox->keywords_of(m), m.recent);
      if (s.cmd_uid) items += std::string(items.empty() ? "" : " ") + "UID " + std::to_string(m.uid);
      if (s.condstore)
        items += std::string(items.empty() ? "" : " ") + "MODSEQ (" + std::to_string(m.modseq) + ")";
      out += items + ")\r\n";
    }
    s.write(out);
  }
  s.sync_mailbox(s.cmd_uid);
  if (!modified.empty()) {
    std::vector<std::uint32_t> ids;
    for (store::Uid u : modified) {
      if (s.cmd_uid) ids.push_back(u);
      else if (s.mailbox) ids.push_back(s.mailbox->seq_of_uid(u));
    }
    s.ok(c, "[MODIFIED " + uid_set_text(ids) + "] Conditional STORE failed for some messages");
    co_return;
  }
  s.ok(c, s.cmd_uid ? "UID STORE completed" : "STORE completed");
}

}  // namespace tern::imapd
