// GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208) over the account quota: one quota root
// "" per account, resources STORAGE (units of 1024 octets) and MESSAGE.
#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "tern/imap/response.hpp"

namespace tern::imapd {

namespace {

bool quota_line(Session& s, std::string& out) {
  auto a = s.store().get_account(s.user);
  if (!a) return false;
  std::string res;
  // RFC 9208 §5.1: only resources with a limit are listed.
  if (a->quota.bytes > 0)
    res += "STORAGE " + std::to_string((a->usage.bytes + 1023) / 1024) + " " +
           std::to_string(a->quota.bytes / 1024);
  if (a->quota.messages > 0) {
    if (!res.empty()) res += ' ';
    res += "MESSAGE " + std::to_string(a->usage.messages) + " " + std::to_string(a->quota.messages);
  }
  out = "QUOTA \"\" (" + res + ")";
  return true;
}

}  // namespace

asio::awaitable<void> cmd_getquota(Session& s, imap::Command& c) {
  if (c.args.size() != 1 || !c.args[0].is_astring()) {
    s.bad(c, c.name + " needs one argument");
    co_return;
  }
  if (c.name == "GETQUOTAROOT") {
    auto mb = s.store().get_mailbox(s.account, mailbox_name(c.args[0]));
    if (!mb) {
      store_no(s, c, mb.error(), "No such mailbox");
      co_return;
    }
    std::string l = "QUOTAROOT ";
    imap::append_astring(l, mb->name, s.utf8);
    l += " \"\"";
    s.untagged(l);
  } else if (!c.args[0].text.empty()) {
    s.no(c, "[NONEXISTENT] No such quota root");
    co_return;
  }
  std::string q;
  if (!quota_line(s, q)) {
    s.no(c, "[UNAVAILABLE] Cannot read quota");
    co_return;
  }
  s.untagged(q);
  s.ok(c, c.name + " completed");
}

asio::awaitable<void> cmd_setquota(Session& s, imap::Command& c) {
  // Quotas are set by the administrator (ternctl user quota), not by users.
  s.no(c, "[NOPERM] Quotas are set by the administrator");
  co_return;
}

}  // namespace tern::imapd
