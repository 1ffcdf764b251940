#pragma once
// The origination fields a submitted message lacks (RFC 6409 §8.2 Date, §8.3
// Message-ID), as Postfix's always_add_missing_headers does for its submission
// clients: for mail from an authenticated session only, never for mail arriving from
// other MTAs. Added to the stored and queued copy (below our trace fields) before
// DKIM signing, so the signature covers them. Pure.
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace tern::mta {

struct OriginationFields {
  bool has_date = false;
  bool has_message_id = false;
};

// Which of Date / Message-ID the header block at the start of `head` has (field names
// case-insensitive, RFC 5322 §3.6). `head` is the message's first octets;
// head_complete = the whole message is in it. nullopt when the header block does not
// end within `head` and the message goes on (a field further down is unknown).
std::optional<OriginationFields> find_origination_fields(std::string_view head, bool head_complete);

// "Tue, 01 Dec 2026 15:04:05 +0100": RFC 5322 §3.3, local time with its zone (C-locale
// names, whatever the process locale).
std::string rfc5322_local_date(std::time_t t);

// "<20261201150405.0A1B2C3D4E.9f8e7d6c5b4a3928@mx.example.test>": time, the transaction
// id and 64 random bits at our host name (RFC 5322 §3.6.4).
std::string make_message_id(std::time_t t, std::string_view transaction_id, std::string_view hostname);

// The fields to add ("Date: ...\r\nMessage-ID: <...>\r\n", either, or "") for a
// submitted message whose start is `head`; "" as well when the header block cannot be
// seen whole (find_origination_fields gives nullopt).
std::string missing_origination_fields(std::string_view head, bool head_complete, std::time_t now,
                                       std::string_view transaction_id, std::string_view hostname);

}  // namespace tern::mta
