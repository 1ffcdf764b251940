#pragma once
// Plain value types of the store API (backend-neutral: no LMDB types here).
// Times are UnixTime = seconds since the epoch (UTC). Sizes are bytes.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::store {

using AccountId = std::uint64_t;   // > 0
using MailboxId = std::uint64_t;   // > 0, never reused
using BlobId = std::uint64_t;      // > 0
using QueueId = std::uint64_t;     // > 0
using Uid = std::uint32_t;         // IMAP UID, > 0, per mailbox, strictly increasing
using ModSeq = std::uint64_t;      // RFC 7162 MODSEQ, > 0, per mailbox, strictly increasing
using UnixTime = std::int64_t;

// The IMAP hierarchy delimiter of mailbox names ("Archive/2024").
inline constexpr char kHierarchyDelimiter = '/';

// ---------------------------------------------------------------- accounts
struct Quota {
  std::uint64_t bytes = 0;     // 0 = unlimited
  std::uint64_t messages = 0;  // 0 = unlimited
};

struct Usage {
  std::uint64_t bytes = 0;     // sum of message sizes over all mailboxes of the account
  std::uint64_t messages = 0;  // number of messages over all mailboxes
};

// RFC 7677 / RFC 5802 SCRAM-SHA-256 stored credential (raw bytes, not base64).
struct ScramCredential {
  std::string salt;
  std::uint32_t iterations = 4096;
  std::string stored_key;  // H(ClientKey), 32 bytes
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), 32 bytes
};

struct Account {
  AccountId id = 0;
  std::string address;        // normalized: lower case "local@domain"
  std::string password_hash;  // crypt(3) string: "$y$...", "$6$...", "$2b$..."; may be empty (no login)
  std::optional<ScramCredential> scram;
  bool enabled = true;
  Quota quota;
  Usage usage;
  UnixTime created = 0;
};

struct NewAccount {
  std::string address;
  std::string password_hash;
  std::optional<ScramCredential> scram;
  Quota quota;
  bool enabled = true;
};

// ---------------------------------------------------------------- aliases, admins
// An alias maps an address (or "@domain", a catch-all) to one or more targets: local
// or remote addresses. Targets are addresses, never "@domain".
struct Alias {
  std::string source;                // "a@example.test" or "@example.test"
  std::vector<std::string> targets;  // normalized addresses
};

struct Admin {
  std::string name;
  std::string password_hash;         // crypt(3)
  bool global = true;                // true: every domain; false: only `domains`
  std::vector<std::string> domains;
};

// ---------------------------------------------------------------- resolution
// resolve(address): what the MTA needs at RCPT TO time.
struct LocalRecipient {
  AccountId account = 0;
  std::string address;  // the account's address
  Quota quota;
  Usage usage;          // at the time of resolve (the real check is in deliver())
};

struct Resolution {
  std::vector<LocalRecipient> local;   // deduplicated, in first-reached order
  std::vector<std::string> remote;     // forward targets outside the local domains
};

// ---------------------------------------------------------------- mailboxes
enum class SpecialUse : std::uint8_t {  // RFC 6154
  none = 0, sent, drafts, junk, trash, archive, all, flagged,
};
std::string_view special_use_name(SpecialUse u);  // "\\Sent", ... ; "" for none

struct MailboxInfo {
  MailboxId id = 0;
  AccountId account = 0;
  std::string name;             // full name, '/'-separated; "INBOX" is always upper case
  std::uint32_t uidvalidity = 0;
  Uid uidnext = 1;
  ModSeq highestmodseq = 1;
  SpecialUse special_use = SpecialUse::none;
  // Whether the name is in the account's subscription list. Subscriptions are kept
  // apart from mailboxes (RFC 9051 6.3.7): deleting a mailbox leaves its name
  // subscribed (LIST shows it \NonExistent); see Store::list_subscriptions.
  bool subscribed = false;
  // RFC 3501 2.3.2 \Recent: messages with uid >= first_recent_uid have not been
  // claimed by any session yet. A read-write SELECT (and a selected read-write session
  // seeing new mail) claims [first_recent_uid, uidnext) with Store::claim_recent.
  Uid first_recent_uid = 1;
  std::uint32_t messages = 0;   // current count
  std::uint32_t unseen = 0;     // messages without \Seen
  std::uint64_t size = 0;       // sum of message sizes
  // Keywords in use in this mailbox (RFC 9051 7.3.5 FLAGS, 7.1 PERMANENTFLAGS), in the
  // order first used, case as first seen (keywords compare case-insensitively). Grows
  // when a STORE, APPEND, COPY/MOVE or delivery puts a new keyword on a message; never
  // shrinks. At most kMaxMailboxKeywords: a set_flags() that would add more fails with
  // not_permitted (imapd then drops "\*" from PERMANENTFLAGS).
  std::vector<std::string> keywords;
};
inline constexpr std::size_t kMaxMailboxKeywords = 1000;

// ---------------------------------------------------------------- messages
// System flags as a bitmask (RFC 9051 2.3.2). \Recent is not a stored flag: it is
// per session, from the mailbox's first_recent_uid (MailboxInfo, Store::claim_recent).
enum Flag : std::uint32_t {
  kSeen = 1u << 0,
  kAnswered = 1u << 1,
  kFlagged = 1u << 2,
  kDeleted = 1u << 3,
  kDraft = 1u << 4,
};

// One message as iterated: a view valid only inside the callback that receives it.
struct MessageMeta {
  Uid uid = 0;
  ModSeq modseq = 0;
  std::uint32_t flags = 0;        // Flag bits
  std::string_view keywords;      // space-separated keywords ("$Forwarded Work"), maybe empty
  std::uint64_t size = 0;         // RFC 822 size in bytes
  UnixTime internal_date = 0;
  BlobId blob = 0;
};

// Owned copy of a MessageMeta (for results returned by value).
struct MessageRecord {
  Uid uid = 0;
  ModSeq modseq = 0;
  std::uint32_t flags = 0;
  std::string keywords;
  std::uint64_t size = 0;
  UnixTime internal_date = 0;
  BlobId blob = 0;
};

// Closed UID range; a UidSet is a list of ranges (need not be sorted or disjoint).
struct UidRange {
  Uid first = 1;
  Uid last = 0xffffffffu;
};
using UidSet = std::vector<UidRange>;

struct FlagUpdate {
  enum class Op { replace, add, remove } op = Op::add;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;       // case kept; compared case-insensitively
  std::optional<ModSeq> unchanged_since;   // RFC 7162 3.1.3 UNCHANGEDSINCE
};

struct FlagResult {
  std::vector<MessageRecord> changed;  // the messages whose flags changed (new modseq)
  std::vector<Uid> modified;           // failed the UNCHANGEDSINCE test (RFC 7162 MODIFIED)
};

struct CopyResult {
  std::uint32_t dest_uidvalidity = 0;
  std::vector<std::pair<Uid, Uid>> uids;  // (source uid, new dest uid), RFC 4315 COPYUID
};

// ---------------------------------------------------------------- delivery
struct DsnParams {  // RFC 3461; empty = not given
  std::string notify;  // "NEVER" or a comma list of SUCCESS,FAILURE,DELAY
  std::string orcpt;   // "rfc822;addr" as given (xtext decoded)
  std::string ret;     // "FULL" or "HDRS"
  std::string envid;
};

// QueueEntry::flags / OutboundEntry::flags bits.
inline constexpr std::uint32_t kQueueDelayNotified = 1;  // the "delayed" DSN was sent
inline constexpr std::uint32_t kQueueIsBounce = 2;       // a DSN/notice we generated
inline constexpr std::uint32_t kQueueForwarded = 4;      // an alias forwarded it (not signed)

struct OutboundEntry {
  std::string sender;     // envelope MAIL FROM ("" = null sender)
  std::string recipient;  // envelope RCPT TO
  DsnParams dsn;
  UnixTime next_attempt = 0;  // 0 = now
  std::string message_id;     // the id of the accepted message (events, logs)
  std::uint32_t flags = 0;    // kQueue* bits
};

enum class EventAction : std::uint8_t {
  accepted = 0, delivered, forwarded, queued, rejected, deferred, bounced, autoreplied,
};
std::string_view event_action_name(EventAction a);  // "accepted", ...

struct DeliveryEvent {
  UnixTime time = 0;         // 0 = the time of the commit
  std::string message_id;    // session/queue id or Message-ID
  std::string sender;
  std::string recipient;
  EventAction action = EventAction::accepted;
  std::string detail;        // rule / reply text; never message bodies or passwords
};

// A change to an existing queue entry, applied in the same transaction as the
// delivery it is part of (DeliveryRequest::queue_changes): a bounce is stored and its
// failed entries removed in one commit, so a crash neither loses nor repeats it.
struct QueueChange {
  enum class Op : std::uint8_t { remove, reschedule };
  QueueId id = 0;
  Op op = Op::remove;
  UnixTime next_attempt = 0;   // reschedule: the new due time
  std::string error;           // reschedule: last_error (attempts + 1)
  std::uint32_t set_flags = 0; // reschedule: kQueue* bits to set
};

struct DeliveryTarget {
  DeliveryTarget() = default;
  DeliveryTarget(AccountId a, std::string mb = "INBOX", bool fallback = true)  // NOLINT
      : account(a), mailbox(std::move(mb)), fallback_to_inbox(fallback) {}
  AccountId account = 0;
  std::string mailbox = "INBOX";  // if absent: fails with no_such_mailbox unless fallback
  bool fallback_to_inbox = true;  // a missing non-INBOX mailbox delivers to INBOX instead
  std::uint32_t flags = 0;        // initial Flag bits (e.g. kSeen for Sent copies)
  std::string keywords;           // initial keywords, space-separated
};

// One message body delivered to many mailboxes and/or queued, in ONE transaction.
// The stored body is `prefix` followed by the body (the bytes of `body`, or the whole
// file `body_file` if body_file is not empty). The MTA passes its trace headers
// (Return-Path, Received) as the prefix and the spool file as body_file.
struct DeliveryRequest {
  std::string prefix;
  std::string body;
  std::filesystem::path body_file;
  UnixTime internal_date = 0;          // 0 = now
  std::vector<DeliveryTarget> targets;
  std::vector<OutboundEntry> outbound;
  std::vector<DeliveryEvent> events;
  // Applied in the same txn; an entry already gone (ternctl queue delete) is skipped.
  std::vector<QueueChange> queue_changes;
  // A body that exists only because of these queue entries (a DSN about them): when
  // not one of them is still queued as the txn starts (`ternctl queue delete` removed
  // them during the attempt), nothing of the body is stored (no targets, no outbound,
  // no body_events; DeliveryResult::skipped). queue_changes and events apply either way.
  std::vector<QueueId> only_if_queued;
  std::vector<DeliveryEvent> body_events;  // recorded only when the body is stored
};

struct TargetResult {
  std::error_code error;   // empty = delivered; quota_exceeded, no_such_mailbox, no_such_user
  MailboxId mailbox = 0;
  std::uint32_t uidvalidity = 0;
  Uid uid = 0;
};

struct DeliveryResult {
  std::vector<TargetResult> targets;  // one per request target, same order
  std::vector<QueueId> queued;        // one per outbound entry, same order
  BlobId blob = 0;                    // 0 if nothing was stored (every target failed, no queue)
  bool skipped = false;               // only_if_queued found none of its entries
};

// ---------------------------------------------------------------- queue
struct QueueEntry {
  QueueId id = 0;
  std::string sender;
  std::string recipient;
  DsnParams dsn;
  BlobId blob = 0;
  std::uint64_t size = 0;
  UnixTime created = 0;
  UnixTime next_attempt = 0;
  std::uint32_t attempts = 0;
  std::string last_error;
  std::string message_id;   // of the accepted message ("" for entries made before it)
  std::uint32_t flags = 0;  // kQueue* bits
};

// ---------------------------------------------------------------- settings
struct AutoReply {
  std::string subject;
  std::string body;
  std::uint32_t days = 7;  // RFC 3834 / Sieve vacation: one reply per sender per `days`
  UnixTime start = 0;      // no replies before this time (0 = from now on)
  UnixTime end = 0;        // no replies from this time on (0 = until turned off)
};

// A mailbox's own forwarding (self-service, like cPanel's "forward this address"):
// mail to the account is also sent to `targets` (local or remote addresses), and
// stays in the account's own mailbox only when keep_copy is set. resolve() follows it.
struct Forwarding {
  std::vector<std::string> targets;  // normalized addresses, at most kMaxForwardTargets
  bool keep_copy = true;
};
inline constexpr std::size_t kMaxForwardTargets = 50;

struct DkimKey {
  std::string domain;
  std::string selector;
  std::string algorithm;        // "rsa" or "ed25519"
  std::string private_key_pem;
  UnixTime created = 0;
};

struct WebSession {
  std::string token;
  std::string admin;       // who: the web panel writes "admin:NAME" or "user:ADDRESS"
  std::string csrf;
  UnixTime expires = 0;    // idle expiry (the panel moves it on while the session is used)
  UnixTime created = 0;    // for the absolute expiry (0 = the time of the first put)
  std::string credential{};  // fingerprint of the password hash at login (logout on change)
};

// ---------------------------------------------------------------- admin, check
struct StoreStats {
  std::uint64_t domains = 0, accounts = 0, aliases = 0, mailboxes = 0, messages = 0;
  std::uint64_t blobs = 0, blob_bytes = 0, queue = 0, events = 0;
  std::uint64_t file_bytes = 0;   // size of the data file on disk
  std::uint64_t used_bytes = 0;   // pages in use
  std::uint64_t last_txn = 0;
  std::uint32_t schema_version = 0;
};

struct CheckIssue {
  std::string what;      // one line: "account 3 usage.bytes 100 != 4200 (sum of messages)"
  bool repaired = false;
};

}  // namespace tern::store
