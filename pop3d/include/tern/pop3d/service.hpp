#pragma once
// Pop3Service: what every POP3 session of one tern-pop3d process shares — the config,
// the store, the Authenticator (throttle + cache) and the cache of POP3 sizes. No Asio
// here: the coroutine driver (connection.hpp) calls these, the blocking ones through
// Connection::run_blocking. Thread-safe.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/auth/authenticator.hpp"
#include "tern/config/config.hpp"
#include "tern/pop3/message_encoder.hpp"
#include "tern/pop3/session.hpp"
#include "tern/pop3d/maildrop_lock.hpp"
#include "tern/store/store.hpp"

namespace tern::pop3d {

// The maildrop of a logged-in session: its lock, INBOX and the snapshot taken at login.
struct Maildrop {
  MaildropLock lock;
  store::AccountId account = 0;
  store::MailboxId inbox = 0;
  std::uint32_t uidvalidity = 0;
  std::vector<pop3::MaildropMessage> messages;
};

enum class OpenStatus { Ok, InUse, Error };

struct OpenResult {
  OpenStatus status = OpenStatus::Error;
  Maildrop maildrop;
  std::string error;  // for the log (Error)
};

// The unique-id of RFC 1939 §7 UIDL: "<UIDVALIDITY>.<UID>", so a message keeps its id
// across sessions and maps one-to-one to the IMAP message (same mailbox, same UID).
std::string make_uidl(std::uint32_t uidvalidity, store::Uid uid);

// Result of encoding one segment of a message (see encode_segment).
struct SegmentResult {
  std::error_code error;      // store error (not_found: the message is gone)
  std::uint64_t consumed = 0; // raw stored bytes consumed in this segment
  bool end = false;           // the whole message (or the TOP limit) was encoded
};

class Pop3Service {
 public:
  Pop3Service(const config::Config& cfg, store::Store& store);

  const config::Config& config() const { return cfg_; }
  store::Store& store() { return store_; }
  auth::Authenticator& authenticator() { return auth_; }
  // SASL mechanisms we offer once authentication is allowed (TLS or allowed plaintext).
  const std::vector<std::string>& sasl_mechanisms() const { return mechs_; }
  // The SessionOptions of a new session on listener `listener` ("pop3" / "pop3s").
  pop3::SessionOptions session_options(bool tls_active, bool plain_listener) const;

  // BLOCKING (store reads, maybe the first scan of new messages). Locks the account's
  // maildrop and snapshots INBOX: UIDs, POP3 sizes, UIDL values.
  OpenResult open_maildrop(store::AccountId account);

  // Reads the stored message from raw offset `skip` and feeds it to `enc`, appending
  // wire bytes to `out` until out.size() >= limit or the end. Runs inside one store
  // read txn (zero-copy chunks); the caller then sends `out` and calls again with
  // skip += consumed. Cheap enough to run on the I/O thread (no fsync, no hashing).
  SegmentResult encode_segment(store::MailboxId mailbox, store::Uid uid, std::uint64_t skip,
                               pop3::MessageEncoder& enc, std::string& out, std::size_t limit);

  // BLOCKING: expunge `uids` from INBOX in one store transaction (RFC 1939 §6).
  store::Result<std::vector<store::Uid>> expunge(store::MailboxId inbox,
                                                 const std::vector<store::Uid>& uids);

  // The account lookup the Authenticator uses (store account -> AccountRecord).
  static std::optional<auth::AccountRecord> lookup_account(store::Store& s, std::string_view login);

  std::filesystem::path lock_dir() const { return lock_dir_; }

 private:
  // POP3 sizes by (mailbox, uidvalidity, uid): a message never changes under its UID,
  // so its size is computed once per process. Bounded: cleared when full.
  struct SizeKey {
    store::MailboxId mailbox;
    std::uint32_t uidvalidity;
    store::Uid uid;
    bool operator==(const SizeKey&) const = default;
  };
  struct SizeKeyHash {
    std::size_t operator()(const SizeKey& k) const noexcept;
  };
  static constexpr std::size_t kMaxCachedSizes = 1'000'000;

  config::Config cfg_;
  store::Store& store_;
  auth::Authenticator auth_;
  std::vector<std::string> mechs_;
  std::filesystem::path lock_dir_;
  std::mutex sizes_mu_;
  std::unordered_map<SizeKey, std::uint64_t, SizeKeyHash> sizes_;
};

}  // namespace tern::pop3d
