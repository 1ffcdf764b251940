// Envelope checks. Relay rules: RFC 5321 §3.6.1 (a server that relays for anybody is
// an open relay; we relay only for authenticated submission or trusted networks).
// Quota replies: RFC 3463 §3.3 (X.2.2 mailbox full), RFC 5321 §4.2.2 (452 / 552).
#include "checks.hpp"

#include <algorithm>
#include <ctime>

#include "autoreply.hpp"  // parse_header_fields
#include "queue/srs.hpp"
#include "tern/mime/address.hpp"
#include "tern/smtp/address.hpp"

namespace tern::mta {

using smtp::Reply;
namespace esc = smtp::esc;

namespace {

Reply temp_failure() { return Reply(451, esc::system_temp, "Temporary lookup failure, try again later"); }

enum class Owned { yes, no, temp };

// The address is the user's own, or resolves (alias, plus-address) to their account.
Owned owns(store::Store& store, const AuthIdentity& identity, const std::string& address) {
  auto addr = store::normalize_address(address);
  if (!addr) return Owned::no;
  if (*addr == identity.address) return Owned::yes;
  auto res = store.resolve(*addr);
  if (!res) return store::is_temporary(res.error()) ? Owned::temp : Owned::no;
  for (const auto& l : res->local)
    if (l.account == identity.account) return Owned::yes;
  return Owned::no;
}

Reply not_owned_from(std::string_view what) {
  return Reply(550, esc::not_authorized, std::string(what));
}

}  // namespace

RcptCheck check_recipient(store::Store& store, const RcptContext& ctx, const smtp::Path& rcpt) {
  RcptCheck out;
  std::string address = rcpt.postmaster ? "postmaster@" + ctx.hostname : rcpt.address();
  const bool literal = !rcpt.postmaster && !rcpt.domain.empty() && rcpt.domain.front() == '[';
  const std::string domain = rcpt.postmaster ? smtp::ascii_lower(ctx.hostname) : smtp::ascii_lower(rcpt.domain);
  if (literal || !store.domain_exists(domain)) {
    if (!ctx.may_relay) {
      out.rejection = Reply(554, esc::not_authorized, "Relay access denied");
      out.rule = "relay-denied";
      return out;
    }
    out.route.remote.push_back(address);
    out.route.relayed = true;
    out.rule = "relay";
    return out;
  }
  // A bounce to one of our SRS addresses (queue/srs.hpp) goes back to the original
  // sender; a made-up or expired one is refused, so nobody can relay through it.
  if (address.size() > 5 && smtp::ascii_lower(address.substr(0, 5)) == "srs0=") {
    auto secret = store.srs_secret();
    if (!secret) {
      out.rejection = temp_failure();
      out.rule = "store-temporary";
      return out;
    }
    auto d = queue::srs_reverse(*secret, address, std::time(nullptr));
    if (d.check == queue::SrsCheck::ok) {
      out.route.remote.push_back(d.original);
      out.route.relayed = true;
      out.rule = "srs";
      return out;
    }
    out.rejection = Reply(550, esc::bad_mailbox, "Invalid or expired SRS address");
    out.rule = "srs-invalid";
    return out;
  }
  auto res = store.resolve(address);
  if (!res) {
    auto ec = res.error();
    if (store::is_temporary(ec)) {
      out.rejection = temp_failure();
      out.rule = "store-temporary";
    } else if (ec == store::Errc::account_disabled) {
      out.rejection = Reply(550, esc::mailbox_disabled, "Mailbox disabled");
      out.rule = "disabled";
    } else if (ec == store::Errc::invalid_address) {
      out.rejection = Reply(501, esc::bad_dest_syntax, "Bad recipient address");
      out.rule = "bad-address";
    } else {
      out.rejection = Reply(550, esc::bad_mailbox, "No such user here");
      out.rule = "unknown-user";
    }
    return out;
  }
  // Quota at RCPT time (the binding check is in deliver()). With several local
  // targets (an alias), refuse only when every one of them is over quota.
  unsigned too_big = 0, full = 0;
  const std::uint64_t size = ctx.declared_size.value_or(0);
  for (const auto& l : res->local) {
    if (l.quota.bytes && ctx.declared_size && size > l.quota.bytes) {
      ++too_big;
    } else if ((l.quota.bytes && l.usage.bytes + size > l.quota.bytes) ||
               (l.quota.messages && l.usage.messages >= l.quota.messages)) {
      ++full;
    }
  }
  const std::size_t n = res->local.size();
  if (n > 0 && res->remote.empty() && too_big + full == n) {
    if (too_big == n) {
      out.rejection = Reply(552, esc::mailbox_full, "Message exceeds the recipient's quota");
      out.rule = "quota-size";
    } else {
      out.rejection = Reply(452, esc::mailbox_full_temp, "Mailbox full, try again later");
      out.rule = "quota-full";
    }
    return out;
  }
  out.route.local = std::move(res->local);
  out.route.remote = std::move(res->remote);
  out.rule = out.route.remote.empty() ? "local" : "forward";
  return out;
}

Reply check_sender(store::Store& store, const std::optional<AuthIdentity>& identity, const smtp::Path& sender) {
  if (!identity) return {};
  // Bounces come from MTAs, never from a logged-in user: MAIL FROM:<> after AUTH
  // would let a user send mail nobody can answer or trace.
  if (sender.null) return Reply(553, esc::not_authorized, "The null sender is not allowed for authenticated users");
  switch (owns(store, *identity, sender.address())) {
    case Owned::yes: return {};
    case Owned::temp: return temp_failure();
    case Owned::no: break;
  }
  return Reply(553, esc::not_authorized, "Sender address not owned by the authenticated user");
}

Reply check_header_from(store::Store& store, const AuthIdentity& identity, std::string_view head,
                        bool head_complete) {
  // The header block: up to the first empty line.
  std::size_t end = std::string_view::npos;
  if (head.rfind("\r\n", 0) == 0 || head.rfind("\n", 0) == 0) end = 0;
  if (end == std::string_view::npos) {
    auto p = head.find("\n\r\n");
    auto q = head.find("\n\n");
    end = std::min(p, q);
    if (end != std::string_view::npos) ++end;
  }
  if (end == std::string_view::npos) {
    if (!head_complete)
      return not_owned_from("Header block too long to check the From: address (over " + std::to_string(head.size()) +
                            " octets)");
    end = head.size();
  }
  std::vector<std::string> froms;
  for (auto& [name, value] : parse_header_fields(head.substr(0, end)))
    if (smtp::iequals(name, "from")) froms.push_back(value);
  if (froms.empty()) return {};
  if (froms.size() > 1) return not_owned_from("More than one From: field (RFC 5322 3.6)");
  unsigned mailboxes = 0;
  for (const auto& a : mime::parse_address_list(froms.front(), 100)) {
    if (a.kind != mime::Address::Kind::mailbox) continue;
    ++mailboxes;
    std::string addr = a.mailbox + "@" + a.host;
    switch (owns(store, identity, addr)) {
      case Owned::yes: continue;
      case Owned::temp: return temp_failure();
      case Owned::no: break;
    }
    std::string shown;  // the reply text: printable ASCII only, bounded
    for (char c : addr.substr(0, 254)) shown += (c < 0x21 || c > 0x7e) ? '?' : c;
    return not_owned_from("From: address <" + shown + "> is not owned by the authenticated user " + identity.address);
  }
  if (mailboxes == 0) return not_owned_from("From: field without an address");
  return {};
}

}  // namespace tern::mta
