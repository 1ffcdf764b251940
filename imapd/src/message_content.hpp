#pragma once
// MessageContent: one stored message's bytes and what FETCH and SEARCH take from them
// (sections, ENVELOPE, BODYSTRUCTURE, decoded BINARY parts, header/body text search).
// The MIME work is tern::mime's (common/mime); this class only holds the bytes and the
// parsed structure for the length of one command. No Asio.
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tern/imap/args.hpp"
#include "tern/mime/message.hpp"
#include "tern/store/store.hpp"

namespace tern::imapd {

class MessageContent {
 public:
  // Reads the message (prefix + body) from the store; nullopt if it is gone.
  static std::optional<MessageContent> load(store::Store& s, store::MailboxId mb, store::Uid uid);
  explicit MessageContent(std::string bytes);
  ~MessageContent();
  MessageContent(MessageContent&&) noexcept;
  MessageContent& operator=(MessageContent&&) noexcept;

  std::string_view bytes() const { return bytes_; }
  // BODY[section] octets before <partial>; nullopt: no such part (answered as "").
  std::optional<std::string> section(const imap::Section& s) const;
  // BINARY[part]; error: "UNKNOWN-CTE" when the part's encoding is unknown.
  std::optional<std::string> binary(const std::vector<std::uint32_t>& part, std::string& error) const;
  std::string envelope() const;
  std::string body_structure(bool extended) const;
  // SEARCH helpers (needle already UTF-8).
  bool header_contains(std::string_view field, std::string_view needle) const;
  bool body_contains(std::string_view needle) const;
  bool text_contains(std::string_view needle) const;
  // The Date: header as unix time (SENTBEFORE etc.), or internal_date if absent/bad.
  long long sent_date(long long internal_date) const;
  // The Date header's calendar date as written (UTC + its zone offset), for SENT*.
  long long sent_local_date(long long internal_date) const;
  // The parsed structure (SORT, THREAD).
  const mime::Message& message() const;

 private:
  struct Parsed;
  const Parsed& parsed() const;
  std::string bytes_;
  mutable std::unique_ptr<Parsed> parsed_;
};

}  // namespace tern::imapd
