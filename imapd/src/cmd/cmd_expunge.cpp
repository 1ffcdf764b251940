// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1).
#include "cmd/commands.hpp"
#include "cmd/util.hpp"

namespace tern::imapd {

asio::awaitable<void> cmd_expunge(Session& s, imap::Command& c) {
  std::optional<store::UidSet> uids;
  if (s.cmd_uid) {
    imap::SequenceSet set;
    if (c.args.size() != 1 || !c.args[0].is_atom() ||
        !imap::parse_sequence_set(c.args[0].text, s.svc().sequence_ranges(), set)) {
      s.bad(c, "UID EXPUNGE needs a UID set");
      co_return;
    }
    store::UidSet us;
    for (const auto& r : set.resolve(s.mailbox->max_uid() ? s.mailbox->max_uid() : 1))
      us.push_back({r.first, r.last});
    uids = std::move(us);
    if (uids->empty()) {
      s.ok(c, "UID EXPUNGE completed");
      co_return;
    }
  } else if (!c.args.empty()) {
    s.bad(c, "EXPUNGE takes no arguments");
    co_return;
  }
  if (s.mailbox->readonly) {
    s.no(c, "[READ-ONLY] Mailbox is read-only");
    co_return;
  }
  store::Store* st = &s.store();
  store::MailboxId id = s.mailbox->info.id;
  const std::optional<store::UidSet>* pu = &uids;
  auto job = [st, id, pu]() { return st->expunge(id, *pu, true); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "Cannot expunge");
    co_return;
  }
  if (!s.mailbox) co_return;
  for (store::Uid u : *r)
    s.mailbox->mark_expunged(u);
  std::string out;
  s.mailbox->report_expunged(out, s.qresync);
  s.write(out);
  s.sync_mailbox(true);
  s.ok(c, s.cmd_uid ? "UID EXPUNGE completed" : "EXPUNGE completed");
}

}  // namespace tern::imapd
