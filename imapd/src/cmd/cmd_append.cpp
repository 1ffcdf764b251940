// APPEND (RFC 9051 §6.3.12, RFC 4315 APPENDUID, RFC 3516 literal8): mail clients
// save sent messages to Sent this way, so the internal date and flags are kept.
#include <ctime>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "tern/mime/binary.hpp"

namespace tern::imapd {

namespace {

std::string keywords_text(const std::vector<std::string>& kws) {
  std::string r;
  for (const auto& k : kws) {
    if (!r.empty()) r += ' ';
    r += k;
  }
  return r;
}

}  // namespace

asio::awaitable<void> cmd_append(Session& s, imap::Command& c) {
  const auto& a = c.args;
  if (a.size() < 2 || a.size() > 4 || !a[0].is_astring() || !a.back().is_string()) {
    s.bad(c, "APPEND needs a mailbox and a message literal");
    co_return;
  }
  imap::FlagList fl;
  long long date = static_cast<long long>(std::time(nullptr));
  for (std::size_t i = 1; i + 1 < a.size(); ++i) {
    if (a[i].is_list()) {
      if (!imap::parse_flag_list(a[i], fl)) {
        s.bad(c, "bad flag in APPEND");
        co_return;
      }
    } else if (a[i].is_string()) {
      auto d = imap::parse_date_time(a[i].text);
      if (!d) {
        s.bad(c, "bad date-time in APPEND");
        co_return;
      }
      date = *d;
    } else {
      s.bad(c, "bad APPEND argument");
      co_return;
    }
  }
  const bool literal8 = c.args.back().literal8;
  std::string body = std::move(c.args.back().text);
  if (body.empty()) {
    s.no(c, "Cannot append an empty message");
    co_return;
  }
  if (body.size() > s.cfg().limits.message_size) {
    s.no(c, "[TOOBIG] Message too large");
    co_return;
  }
  if (literal8) {
    // RFC 3516 §4.3: binary parts are stored base64-encoded, so BODY[n] stays a valid
    // IMAP string (no NUL) and BINARY[n] gives the sent octets back. (The size limit
    // is on what the client sent; the stored copy may be a third larger.)
    if (auto converted = mime::binary_parts_to_base64(body)) body = std::move(*converted);
  }
  std::string name = mailbox_name(a[0]);
  store::DeliveryRequest req;
  req.body = std::move(body);
  req.internal_date = date;
  store::DeliveryTarget t(s.account, name, false);
  t.flags = fl.flags;
  t.keywords = keywords_text(fl.keywords);
  req.targets.push_back(std::move(t));
  store::Store* st = &s.store();
  const store::DeliveryRequest* preq = &req;
  auto job = [st, preq]() { return st->deliver(*preq); };
  auto r = co_await s.conn().run_blocking(std::move(job));
  if (!r) {
    store_no(s, c, r.error(), "Cannot append");
    co_return;
  }
  const store::TargetResult& tr = r->targets.at(0);
  if (tr.error) {
    if (tr.error == store::Errc::no_such_mailbox) s.no(c, "[TRYCREATE] No such mailbox");
    else store_no(s, c, tr.error, "Cannot append");
    co_return;
  }
  // Appended into the selected mailbox: \Recent here (RFC 3501 §6.3.11).
  co_await s.claim_recent();
  s.sync_mailbox(true);
  s.ok(c, "[APPENDUID " + std::to_string(tr.uidvalidity) + " " + std::to_string(tr.uid) +
              "] APPEND completed");
}

}  // namespace tern::imapd
