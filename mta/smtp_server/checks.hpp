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

// The header From of a message an authenticated user sends ([smtp] check_header_from):
// one From field, every mailbox in it owned by the user as for check_sender (their
// address, or an alias / plus-address that reaches their account), else 550 5.7.1
// naming the address. No From field is accepted (nothing to impersonate). `head` is
// the start of the message; head_complete = false when the message is longer than
// `head` (a header block that does not end within it is refused: 550 5.7.1).
smtp::Reply check_header_from(store::Store& store, const AuthIdentity& identity, std::string_view head,
                              bool head_complete);

}  // namespace tern::mta
