// COPY / UID COPY (RFC 9051 §6.4.7, RFC 4315 COPYUID) and MOVE / UID MOVE (RFC 6851).
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"

namespace tern::imapd {

asio::awaitable<void> cmd_copy(Session& s, imap::Command& c) {
  const bool move = c.name == "MOVE";
  imap::SequenceSet set;
  if (c.args.size() != 2 || !c.args[0].is_atom() || !c.args[1].is_astring() ||
      !imap::parse_sequence_set(c.args[0].text, s.svc().sequence_ranges(), set)) {
    s.bad(c, move ? "MOVE needs a sequence set and a mailbox" : "COPY needs a sequence set and a mailbox");
    co_return;
  }
  MailboxView& v = *s.mailbox;
  if (move && v.readonly) {
    s.no(c, "[READ-ONLY] Mailbox is read-only");
    co_return;
  }
  std::vector<std::size_t> idx = v.select(set, s.cmd_uid);
  if (!s.cmd_uid && idx.empty()) {
    s.bad(c, "Invalid message sequence number");
    co_return;
  }
  auto dest = s.store().get_mailbox(s.account, mailbox_name(c.args[1]));
  if (!dest) {
    // RFC 9051 §6.4.7: [TRYCREATE] when the destination does not exist.
    if (dest.error() == store::Errc::no_such_mailbox) s.no(c, "[TRYCREATE] No such mailbox");
    else store_no(s, c, dest.error(), "No such mailbox");
    co_return;
  }
  std::vector<store::Uid> uids;
  bool expunged = false;
  for (std::size_t k : idx) {
    if (v.msgs[k].expunged) expunged = true;
    else uids.push_back(v.msgs[k].uid);
  }
  if (expunged && !move) {
    s.no(c, "[EXPUNGEISSUED] Some messages were expunged");
    co_return;
  }
  if (uids.empty()) {
    s.ok(c, move ? "MOVE completed" : "COPY completed");
    co_return;
  }
  store::UidSet us = to_uid_set(uids);
  store::Store* st = &s.store();
  store::MailboxId src = v.info.id;
  store::MailboxId dst = dest->id;
  const store::UidSet* pus = &us;
  const bool same = src == dst;
  auto job = [st, src, dst, pus, move, same]() {
    if (move && !same) return st->move_messages(src, *pus, dst);
    auto r = st->copy_messages(src, *pus, dst);
    // RFC 6851 §3.1: MOVE into the selected mailbox itself is copy + expunge too.
    if (r && move && same) (void)st->expunge(src, std::optional<store::UidSet>(*pus), false);
    return r;
  };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "Cannot copy");
    co_return;
  }
  std::vector<store::Uid> from, to;
  for (const auto& [a, b] : r->uids) {
    from.push_back(a);
    to.push_back(b);
  }
  std::string code;
  if (!from.empty()) {
    // RFC 4315 §3: the source and destination sets in the same order.
    std::string fs, ts;
    for (std::size_t k = 0; k < from.size(); ++k) {
      fs += (k ? "," : "") + std::to_string(from[k]);
      ts += (k ? "," : "") + std::to_string(to[k]);
    }
    if (from.size() > 1 && std::is_sorted(from.begin(), from.end()) && std::is_sorted(to.begin(), to.end())) {
      fs = uid_set_text(from);
      ts = uid_set_text(to);
    }
    code = "[COPYUID " + std::to_string(r->dest_uidvalidity) + " " + fs + " " + ts + "] ";
  }
  if (move && s.mailbox) {
    // RFC 6851 §3.3: COPYUID comes in an untagged OK before the expunges.
    if (!code.empty()) s.untagged("OK " + code + "Moved");
    for (store::Uid u : from)
      s.mailbox->mark_expunged(u);
    std::string out;
    s.mailbox->report_expunged(out, s.qresync);
    s.write(out);
    co_await s.claim_recent();  // a MOVE into the selected mailbox itself
    s.sync_mailbox(true);
    s.ok(c, "MOVE completed");
    co_return;
  }
  // A COPY into the selected mailbox: the copies are \Recent here (RFC 3501 §6.4.7).
  co_await s.claim_recent();
  s.sync_mailbox(true);
  s.ok(c, code + (move ? "MOVE completed" : "COPY completed"));
}

}  // namespace tern::imapd
