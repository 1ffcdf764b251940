// CREATE (RFC 9051 §6.3.4, RFC 6154 §3 CREATE-SPECIAL-USE), DELETE (§6.3.5),
// RENAME (§6.3.6), SUBSCRIBE / UNSUBSCRIBE (§6.3.7, §6.3.8).
#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "view_cache.hpp"

namespace tern::imapd {

namespace {

// RFC 9051 §6.3.4: a trailing hierarchy delimiter only says children are intended.
std::string strip_trailing_delimiter(std::string n) {
  while (n.size() > 1 && n.back() == store::kHierarchyDelimiter) n.pop_back();
  return n;
}

}  // namespace

asio::awaitable<void> cmd_create(Session& s, imap::Command& c) {
  if (c.args.empty() || c.args.size() > 2 || !c.args[0].is_astring()) {
    s.bad(c, "CREATE needs a mailbox name");
    co_return;
  }
  store::SpecialUse use = store::SpecialUse::none;
  if (c.args.size() == 2) {
    // (USE (\Sent)) — RFC 6154 §3.
    const imap::Arg& p = c.args[1];
    if (!p.is_list() || p.list.size() != 2 || !p.list[0].is("USE") || !p.list[1].is_list() ||
        p.list[1].list.size() > 1) {
      s.bad(c, "bad CREATE parameters");
      co_return;
    }
    if (p.list[1].list.size() == 1) {
      use = special_use_from(p.list[1].list[0].text);
      if (use == store::SpecialUse::none) {
        s.no(c, "[USEATTR] Unsupported special-use attribute");
        co_return;
      }
    }
  }
  std::string name = strip_trailing_delimiter(mailbox_name(c.args[0]));
  if (name == "INBOX") {
    s.no(c, "[ALREADYEXISTS] INBOX always exists");
    co_return;
  }
  store::Store* st = &s.store();
  store::AccountId acct = s.account;
  const std::string* pname = &name;
  auto job = [st, acct, pname, use]() { return st->create_mailbox(acct, *pname, use); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "Cannot create mailbox");
    co_return;
  }
  s.sync_mailbox(true);
  s.ok(c, "CREATE completed");
}

asio::awaitable<void> cmd_delete(Session& s, imap::Command& c) {
  if (c.args.size() != 1 || !c.args[0].is_astring()) {
    s.bad(c, "DELETE needs a mailbox name");
    co_return;
  }
  std::string name = mailbox_name(c.args[0]);
  if (name == "INBOX") {
    s.no(c, "[CANNOT] INBOX cannot be deleted");
    co_return;
  }
  bool selected_gone = s.mailbox && s.mailbox->info.name == name;
  auto before = s.store().get_mailbox(s.account, name);  // its id, for the view cache
  store::Store* st = &s.store();
  store::AccountId acct = s.account;
  const std::string* pname = &name;
  auto job = [st, acct, pname]() { return st->delete_mailbox(acct, *pname); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "No such mailbox");
    co_return;
  }
  if (before) s.svc().view_cache().erase(before->id);  // its snapshot is of no use now
  if (selected_gone) {
    s.untagged("OK [CLOSED] Selected mailbox deleted");
    s.enter_state(State::Authenticated);
  }
  s.sync_mailbox(true);
  s.ok(c, "DELETE completed");
}

asio::awaitable<void> cmd_rename(Session& s, imap::Command& c) {
  if (c.args.size() != 2 || !c.args[0].is_astring() || !c.args[1].is_astring()) {
    s.bad(c, "RENAME needs two mailbox names");
    co_return;
  }
  std::string from = mailbox_name(c.args[0]);
  std::string to = strip_trailing_delimiter(mailbox_name(c.args[1]));
  if (to == "INBOX") {
    s.no(c, "[ALREADYEXISTS] INBOX exists");
    co_return;
  }
  store::Store* st = &s.store();
  store::AccountId acct = s.account;
  const std::string* pf = &from;
  const std::string* pt = &to;
  auto job = [st, acct, pf, pt]() { return st->rename_mailbox(acct, *pf, *pt); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "No such mailbox");
    co_return;
  }
  if (s.mailbox && s.mailbox->info.name == from && from != "INBOX") s.mailbox->info.name = to;
  s.sync_mailbox(true);
  s.ok(c, "RENAME completed");
}

asio::awaitable<void> cmd_subscribe(Session& s, imap::Command& c) {
  if (c.args.size() != 1 || !c.args[0].is_astring()) {
    s.bad(c, "SUBSCRIBE needs a mailbox name");
    co_return;
  }
  const bool on = c.name == "SUBSCRIBE";
  std::string name = mailbox_name(c.args[0]);
  store::Store* st = &s.store();
  store::AccountId acct = s.account;
  const std::string* pname = &name;
  auto job = [st, acct, pname, on]() { return st->subscribe(acct, *pname, on); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    // RFC 9051 §6.3.8: UNSUBSCRIBE of a name that is not subscribed may succeed.
    if (!on && r.error() == store::Errc::not_found) {
      s.ok(c, "UNSUBSCRIBE completed");
      co_return;
    }
    store_no(s, c, r.error(), "No such mailbox");
    co_return;
  }
  s.sync_mailbox(true);
  s.ok(c, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

}  // namespace tern::imapd
