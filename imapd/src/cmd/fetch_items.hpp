#pragma once
// FETCH of items the view holds (FLAGS, UID, MODSEQ, RFC822.SIZE): no message is read,
// so `UID FETCH 1:* (FLAGS)` of a 100,000-message mailbox (what a client does on every
// resync) is a tight loop writing big pieces (issue 17: SELECT + FETCH FLAGS of 100,000
// messages under 20 ms). The answer is byte for byte what cmd_fetch's general loop
// gives (imapd_tests "[fetch_items]" compares them).
#include <cstddef>
#include <string>
#include <vector>

#include "mailbox_view.hpp"
#include "tern/imap/args.hpp"

namespace tern::imapd {

class Session;

// The items of one FETCH answer line in the order they are sent.
struct FetchItemsPlan {
  enum class Item : unsigned char { Flags, Uid, ModSeq, Size };
  std::vector<Item> items;
};

// A plan when every item of `req` is one the view holds and nothing else is due
// (the caller has ruled out \Seen changes): the request's order with FLAGS, UID and
// MODSEQ once each, then UID if `uid_command` and MODSEQ if `want_modseq` (RFC 9051
// §6.4.8, RFC 7162 §3.1.4.1), as cmd_fetch's general loop. false otherwise.
bool plan_fetch_items(const imap::FetchRequest& req, bool uid_command, bool want_modseq, FetchItemsPlan& plan);

// Appends "* n FETCH (...)\r\n" for the message at index i of the view.
void append_fetch_items(std::string& out, const MailboxView& v, std::size_t i, const FetchItemsPlan& plan);

}  // namespace tern::imapd
