#pragma once
// Envelope checks at MAIL and RCPT time, against the store (blocking: store reads).
// - check_sender: an authenticated client may use only addresses it owns (its own, or
//   an address that resolves to its account: alias, plus-address), else 553 5.7.1.
// - check_recipient: local domains → resolve (aliases, plus-addressing, catch-all) →
//   550 5.1.1 unknown, 550 5.2.1 disabled, 452 4.2.2 over quota, 552 5.2.2 when the
//   declared SIZE alone exceeds the quota; remote domains → relay only when allowed,
//   else 554 5.7.1 (no open relay). Store failures → 451 4.3.0.
#include <optional>
#include <string>

#include "session.hpp"
#include "tern/smtp/reply.hpp"
#include "tern/store/store.hpp"

namespace tern::mta {

struct RcptContext {
  bool may_relay = false;                     // authenticated or trusted network
  std::string hostname;                       // <Postmaster> → postmaster@hostname
  std::optional<std::uint64_t> declared_size; // MAIL SIZE=
};

struct RcptCheck {
  smtp::Reply rejection;  // empty = accepted
  RecipientRoute route;
  std::string rule;       // which rule decided (for the delivery event and the log)
};

RcptCheck check_recipient(store::Store& store, const RcptContext& ctx, const smtp::Path& rcpt);

// Empty reply = accepted. Unauthenticated senders are not checked here (SPF is later).
smtp::Reply check_sender(store::Store& store, const std::optional<AuthIdentity>& identity,
                         const smtp::Path& sender);

}  // namespace tern::mta
