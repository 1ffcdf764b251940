#pragma once
// The IMAP command table (RFC 9051 §6) and the handlers, one file per command or
// small family (cmd_*.cpp), as Dovecot's src/imap/cmd-*.c. A handler runs one
// command: it reads cmd.args, writes untagged and tagged responses through the
// Session, and may co_await store writes through Connection::run_blocking.
#include <string_view>

#include "session.hpp"

namespace tern::imapd {

using Handler = asio::awaitable<void> (*)(Session&, imap::Command&);

// States a command is allowed in (bit per State).
enum : unsigned {
  kInNotAuth = 1u << 0,
  kInAuth = 1u << 1,
  kInSelected = 1u << 2,
  kInAny = kInNotAuth | kInAuth | kInSelected,
  kInLoggedIn = kInAuth | kInSelected,
};

struct CommandSpec {
  std::string_view name;
  unsigned states;
  Handler fn;
  bool uid_form;     // also allowed as "UID <name>"
  bool no_expunge;   // FETCH, STORE, SEARCH: no EXPUNGE responses while they run (§7.5.1)
};

// nullptr when unknown. `uid`: the name came after "UID".
const CommandSpec* find_command(std::string_view name, bool uid);

// Handlers.
asio::awaitable<void> cmd_capability(Session&, imap::Command&);
asio::awaitable<void> cmd_noop(Session&, imap::Command&);
asio::awaitable<void> cmd_logout(Session&, imap::Command&);
asio::awaitable<void> cmd_starttls(Session&, imap::Command&);
asio::awaitable<void> cmd_login(Session&, imap::Command&);
asio::awaitable<void> cmd_authenticate(Session&, imap::Command&);
asio::awaitable<void> cmd_enable(Session&, imap::Command&);
asio::awaitable<void> cmd_id(Session&, imap::Command&);
asio::awaitable<void> cmd_namespace(Session&, imap::Command&);
asio::awaitable<void> cmd_compress(Session&, imap::Command&);
asio::awaitable<void> cmd_select(Session&, imap::Command&);   // SELECT, EXAMINE
asio::awaitable<void> cmd_close(Session&, imap::Command&);    // CLOSE, UNSELECT
asio::awaitable<void> cmd_create(Session&, imap::Command&);
asio::awaitable<void> cmd_delete(Session&, imap::Command&);
asio::awaitable<void> cmd_rename(Session&, imap::Command&);
asio::awaitable<void> cmd_subscribe(Session&, imap::Command&);  // SUBSCRIBE, UNSUBSCRIBE
asio::awaitable<void> cmd_list(Session&, imap::Command&);       // LIST, LSUB
asio::awaitable<void> cmd_status(Session&, imap::Command&);
asio::awaitable<void> cmd_append(Session&, imap::Command&);
asio::awaitable<void> cmd_check(Session&, imap::Command&);
asio::awaitable<void> cmd_expunge(Session&, imap::Command&);    // EXPUNGE, UID EXPUNGE
asio::awaitable<void> cmd_fetch(Session&, imap::Command&);
asio::awaitable<void> cmd_store(Session&, imap::Command&);
asio::awaitable<void> cmd_copy(Session&, imap::Command&);       // COPY, MOVE
asio::awaitable<void> cmd_search(Session&, imap::Command&);
asio::awaitable<void> cmd_sort(Session&, imap::Command&);     // SORT, THREAD
asio::awaitable<void> cmd_idle(Session&, imap::Command&);
// One wake of an IDLE in progress (Session::idle_loop): DONE (or BAD) ends it, a change
// is pushed, a timeout or shutdown says BYE.
asio::awaitable<void> idle_step(Session&, Session::Wake);
asio::awaitable<void> cmd_getquota(Session&, imap::Command&);   // GETQUOTA, GETQUOTAROOT
asio::awaitable<void> cmd_setquota(Session&, imap::Command&);

}  // namespace tern::imapd
