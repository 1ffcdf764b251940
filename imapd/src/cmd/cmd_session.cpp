// CAPABILITY, NOOP, CHECK, LOGOUT, ID, ENABLE, NAMESPACE, STARTTLS, COMPRESS:
// the commands about the session itself (RFC 9051 §6.1, §6.2.1, §6.3.1, §6.3.10;
// RFC 2971 ID, RFC 5161 ENABLE, RFC 2342 NAMESPACE, RFC 4978 COMPRESS).
#include "cmd/commands.hpp"
#include "tern/imap/response.hpp"
#include "tern/log/log.hpp"

namespace tern::imapd {

asio::awaitable<void> cmd_capability(Session& s, imap::Command& c) {
  if (!c.args.empty()) {
    s.bad(c, "CAPABILITY takes no arguments");
    co_return;
  }
  s.untagged("CAPABILITY " + s.capabilities());
  s.ok(c, "Capability completed");
}

asio::awaitable<void> cmd_noop(Session& s, imap::Command& c) {
  if (!c.args.empty()) {
    s.bad(c, "NOOP takes no arguments");
    co_return;
  }
  s.sync_mailbox(true);
  s.ok(c, "NOOP completed");
}

asio::awaitable<void> cmd_check(Session& s, imap::Command& c) {
  s.sync_mailbox(true);
  s.ok(c, "CHECK completed");
  co_return;
}

asio::awaitable<void> cmd_logout(Session& s, imap::Command& c) {
  if (!c.args.empty()) {
    s.bad(c, "LOGOUT takes no arguments");
    co_return;
  }
  s.untagged("BYE Logging out");
  s.enter_state(State::Logout);
  s.ok(c, "LOGOUT completed");
  s.close("logout");
}

asio::awaitable<void> cmd_id(Session& s, imap::Command& c) {
  // RFC 2971 §3.3: at most 30 field/value pairs, fields up to 30 octets, values up
  // to 1024; we only log a few known fields.
  if (c.args.size() != 1 || !(c.args[0].is_nil() || c.args[0].is_list())) {
    s.bad(c, "ID takes NIL or a list");
    co_return;
  }
  const auto& l = c.args[0].list;
  if (c.args[0].is_list()) {
    if (l.size() % 2 != 0 || l.size() > 60) {
      s.bad(c, "ID list must hold at most 30 field/value pairs");
      co_return;
    }
    std::string info;
    for (std::size_t i = 0; i + 1 < l.size(); i += 2) {
      if (!l[i].is_string() || l[i].text.size() > 30 ||
          !(l[i + 1].is_string() || l[i + 1].is_nil()) || l[i + 1].text.size() > 1024) {
        s.bad(c, "ID fields are strings (30 octets), values strings (1024) or NIL");
        co_return;
      }
      if (info.size() < 200)
        info += " " + imap::safe_text(l[i].text, 30) + "=" + imap::safe_text(l[i + 1].text, 60);
    }
    log::info(s.id(), "imap client id:{}", info);
  }
  s.untagged("ID (\"name\" \"tern\" \"version\" \"" TERN_VERSION "\")");
  s.ok(c, "ID completed");
}

asio::awaitable<void> cmd_enable(Session& s, imap::Command& c) {
  if (c.args.empty()) {
    s.bad(c, "ENABLE needs capability names");
    co_return;
  }
  std::string enabled;
  for (const auto& a : c.args) {
    if (!a.is_atom()) {
      s.bad(c, "ENABLE takes atoms");
      co_return;
    }
    if (a.is("IMAP4rev2") && !s.rev2) {
      s.rev2 = true;
      enabled += " IMAP4rev2";
    } else if (a.is("CONDSTORE") && !s.condstore) {
      s.condstore = true;
      enabled += " CONDSTORE";
    } else if (a.is("QRESYNC") && !s.qresync) {
      // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
      s.qresync = true;
      s.condstore = true;
      enabled += " QRESYNC";
    } else if (a.is("UTF8=ACCEPT") && !s.utf8) {
      s.utf8 = true;
      enabled += " UTF8=ACCEPT";
    }
  }
  s.untagged("ENABLED" + enabled);
  s.ok(c, "ENABLE completed");
}

asio::awaitable<void> cmd_namespace(Session& s, imap::Command& c) {
  // One personal namespace, no prefix, '/' as the hierarchy delimiter.
  s.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  s.ok(c, "NAMESPACE completed");
  co_return;
}

asio::awaitable<void> cmd_starttls(Session& s, imap::Command& c) {
  if (!s.starttls_offered()) {
    s.bad(c, s.tls() ? "TLS is already active" : "STARTTLS is not offered here");
    co_return;
  }
  s.ok(c, "Begin TLS negotiation now");
  bool ok = co_await s.flush();
  // RFC 3501 §6.2.1 / RFC 2595 §3.1: whatever the client pipelined after STARTTLS
  // was sent in the clear and is discarded (command injection).
  s.discard_input();
  if (ok) ok = co_await s.conn().start_tls();
  if (!ok) {
    log::info(s.id(), "imap STARTTLS handshake failed");
    s.close("TLS handshake failed");
    co_return;
  }
  log::info(s.id(), "imap STARTTLS {} {}", s.conn().tls_info().version, s.conn().tls_info().cipher);
}

asio::awaitable<void> cmd_compress(Session& s, imap::Command& c) {
  if (c.args.size() != 1 || !c.args[0].is("DEFLATE")) {
    s.bad(c, "Only COMPRESS DEFLATE is supported");
    co_return;
  }
  if (s.compressing()) {
    s.no(c, "[COMPRESSIONACTIVE] Already compressing");
    co_return;
  }
  s.ok(c, "DEFLATE active");
  bool ok = co_await s.flush();
  if (!ok || !s.start_compress()) s.close("compress failed");
}

}  // namespace tern::imapd
