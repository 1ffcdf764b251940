#pragma once
// The SEARCH engine (RFC 9051 §6.4.4): evaluates an imap::SearchKey against the
// messages of the selected mailbox. SORT and THREAD use it to pick their messages.
// Message bytes are read only when a key needs them (HEADER, BODY, TEXT, SENT*),
// once per message. No Asio; store reads only.
#include <cstddef>
#include <ctime>
#include <vector>

#include "mailbox_view.hpp"
#include "message_content.hpp"
#include "tern/imap/args.hpp"

namespace tern::imapd {

struct SearchContext {
  store::Store& store;
  const MailboxView& view;
  long long now = static_cast<long long>(std::time(nullptr));
  MimeCache* cache = nullptr;  // where parsed structures are queued for the store's cache
};

// Indices (into view.msgs) of the matching messages, ascending. Messages marked
// expunged never match.
std::vector<std::size_t> run_search(const SearchContext& ctx, const imap::SearchKey& key);

}  // namespace tern::imapd
