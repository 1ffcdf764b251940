#include "cmd/commands.hpp"

namespace tern::imapd {

namespace {

// {name, states, handler, UID form, no EXPUNGE while running}
const CommandSpec kCommands[] = {
    {"CAPABILITY", kInAny, cmd_capability, false, false},
    {"NOOP", kInAny, cmd_noop, false, false},
    {"LOGOUT", kInAny, cmd_logout, false, false},
    {"ID", kInAny, cmd_id, false, false},
    {"STARTTLS", kInNotAuth, cmd_starttls, false, false},
    {"LOGIN", kInNotAuth, cmd_login, false, false},
    {"AUTHENTICATE", kInNotAuth, cmd_authenticate, false, false},
    {"ENABLE", kInLoggedIn, cmd_enable, false, false},
    {"NAMESPACE", kInLoggedIn, cmd_namespace, false, false},
    {"COMPRESS", kInLoggedIn, cmd_compress, false, false},
    {"SELECT", kInLoggedIn, cmd_select, false, false},
    {"EXAMINE", kInLoggedIn, cmd_select, false, false},
    {"CREATE", kInLoggedIn, cmd_create, false, false},
    {"DELETE", kInLoggedIn, cmd_delete, false, false},
    {"RENAME", kInLoggedIn, cmd_rename, false, false},
    {"SUBSCRIBE", kInLoggedIn, cmd_subscribe, false, false},
    {"UNSUBSCRIBE", kInLoggedIn, cmd_subscribe, false, false},
    {"LIST", kInLoggedIn, cmd_list, false, false},
    {"LSUB", kInLoggedIn, cmd_list, false, false},
    {"STATUS", kInLoggedIn, cmd_status, false, false},
    {"APPEND", kInLoggedIn, cmd_append, false, false},
    {"IDLE", kInLoggedIn, cmd_idle, false, false},
    {"GETQUOTA", kInLoggedIn, cmd_getquota, false, false},
    {"GETQUOTAROOT", kInLoggedIn, cmd_getquota, false, false},
    {"SETQUOTA", kInLoggedIn, cmd_setquota, false, false},
    {"CHECK", kInSelected, cmd_check, false, false},
    {"CLOSE", kInSelected, cmd_close, false, false},
    {"UNSELECT", kInSelected, cmd_close, false, false},
    {"EXPUNGE", kInSelected, cmd_expunge, true, false},
    {"FETCH", kInSelected, cmd_fetch, true, true},
    {"STORE", kInSelected, cmd_store, true, true},
    {"COPY", kInSelected, cmd_copy, true, false},
    {"MOVE", kInSelected, cmd_copy, true, false},
    {"SEARCH", kInSelected, cmd_search, true, true},
    {"SORT", kInSelected, cmd_sort, true, true},
    {"THREAD", kInSelected, cmd_sort, true, true},
};

}  // namespace

const CommandSpec* find_command(std::string_view name, bool uid) {
  for (const auto& c : kCommands) {
    if (c.name != name) continue;
    if (uid && !c.uid_form) return nullptr;
    // "UID EXPUNGE" is UIDPLUS; plain EXPUNGE has no UID set.
    return &c;
  }
  return nullptr;
}

}  // namespace tern::imapd
