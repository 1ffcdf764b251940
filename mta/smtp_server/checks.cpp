// Envelope checks. Relay rules: RFC 5321 §3.6.1 (a server that relays for anybody is
// an open relay; we relay only for authenticated submission or trusted networks).
// Quota replies: RFC 3463 §3.3 (X.2.2 mailbox full), RFC 5321 §4.2.2 (452 / 552).
#include "checks.hpp"

#include <ctime>

#include "queue/srs.hpp"
#include "tern/smtp/address.hpp"

namespace tern::mta {

using smtp::Reply;
namespace esc = smtp::esc;

namespace {

Reply temp_failure() { return Reply(451, esc::system_temp, "Temporary lookup failure, try again later"); }

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
  auto addr = store::normalize_address(sender.address());
  if (!addr) return Reply(553, esc::not_authorized, "Sender address not owned by the authenticated user");
  if (*addr == identity->address) return {};
  auto res = store.resolve(*addr);
  if (!res) {
    if (store::is_temporary(res.error())) return temp_failure();
    return Reply(553, esc::not_authorized, "Sender address not owned by the authenticated user");
  }
  // Owned when the address (an alias, a plus-address) reaches this account.
  for (const auto& l : res->local)
    if (l.account == identity->account) return {};
  return Reply(553, esc::not_authorized, "Sender address not owned by the authenticated user");
}

}  // namespace tern::mta
