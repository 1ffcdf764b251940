#pragma once
// MessageContent: one stored message and what FETCH and SEARCH take from it (sections,
// ENVELOPE, BODYSTRUCTURE, decoded BINARY parts, header/body text search). The MIME
// work is tern::mime's (common/mime); this class decides what to read:
//   - nothing is read until asked; sizes and flags come from the mailbox view;
//   - the parsed structure (tree + header index + ENVELOPE/BODY/BODYSTRUCTURE text)
//     comes from the store's per-body cache (Store::get_blob_meta, tern/mime/cache.hpp);
//     only when it is absent is the whole message read and parsed, once, and the result
//     queued in a MimeCache for the session to write at the end of the command;
//   - byte ranges (BODY[]<o.n>, BODY[TEXT], BODY[1.2], MIME, HEADER) are read with
//     Store::read_message_range: a <0.100> of a 20 MiB message reads one chunk;
//   - root-header work (HEADER.FIELDS, ENVELOPE without a cache, SORT/SEARCH header
//     keys) reads the header prefix only.
// No Asio; store reads only (a read txn never blocks, never held across a co_await).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tern/imap/args.hpp"
#include "tern/mime/message.hpp"
#include "tern/store/store.hpp"

namespace tern::mime {
struct CachedStructure;
}

namespace tern::imapd {

// What one session parsed and did not find cached: written by the session at the end
// of each command in ONE Store::put_blob_meta call (one commit). Counters for the log
// and tests.
struct MimeCache {
  std::vector<std::pair<store::BlobId, std::string>> pending;
  std::size_t pending_bytes = 0;
  unsigned parses = 0;      // whole-message MIME parses
  unsigned cache_hits = 0;  // structures read from the store's cache
  unsigned cached = 0;      // structures written to it
};

class MessageContent {
 public:
  // The message (uid) of mailbox mb; nullopt if it is gone. Reads only its record.
  // cache: where a structure parsed here is queued for writing (nullptr: not written).
  static std::optional<MessageContent> load(store::Store& s, store::MailboxId mb, store::Uid uid,
                                            MimeCache* cache = nullptr);
  // Same, when the caller knows the blob and size (FETCH: from the mailbox view).
  static MessageContent open(store::Store& s, store::MailboxId mb, store::Uid uid, store::BlobId blob,
                             std::uint64_t size, MimeCache* cache = nullptr);
  // Over bytes already in hand (tests).
  explicit MessageContent(std::string bytes);
  ~MessageContent();
  MessageContent(MessageContent&&) noexcept;
  MessageContent& operator=(MessageContent&&) noexcept;

  std::uint64_t size() const { return size_; }
  // The whole message (read on first use; nullopt-free: empty if it vanished).
  std::string_view bytes() const;
  // The header of the message (root entity) with its blank line: offsets of
  // message().root.headers are valid in it.
  std::string_view header_bytes() const;
  // Octets [offset, offset + length) of the message (clipped), read by range unless the
  // whole message is already in hand. false if the message vanished.
  bool read_range(std::uint64_t offset, std::uint64_t length, std::string& out) const;
  // BODY[section]: where its octets lie when they are one range of the message
  // ({begin, end}); nullopt when the section is computed (HEADER.FIELDS) or missing.
  // `exists` is false when the part does not exist.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> section_range(const imap::Section& s, bool& exists) const;
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
  MessageContent() = default;
  // From the store's cache, else by parsing the whole message.
  const mime::CachedStructure& structure() const;
  // From the store's cache only (nullptr when absent): never reads the body.
  const mime::CachedStructure* cached_structure() const;
  void load_bytes() const;
  // Reads the root header alone (growing reads until its blank line): header_,
  // root_header_ (a Message whose root has only the header index), body_begin_.
  void scan_header() const;

  store::Store* store_ = nullptr;
  store::MailboxId mb_ = 0;
  store::Uid uid_ = 0;
  store::BlobId blob_ = 0;
  std::uint64_t size_ = 0;
  MimeCache* cache_ = nullptr;
  mutable std::optional<std::string> bytes_;   // the whole message, once read
  mutable std::optional<std::string> header_;  // the root header prefix, once read
  mutable std::unique_ptr<mime::CachedStructure> structure_;
  mutable bool cache_looked_ = false;  // get_blob_meta was tried
  mutable std::unique_ptr<mime::Message> root_header_;
  mutable std::uint64_t body_begin_ = 0;
};

}  // namespace tern::imapd
