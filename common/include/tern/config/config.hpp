#pragma once
// tern configuration: the keys of design §4, parsed from TOML (toml++).
// parse_config() is pure (no I/O); load_config() reads a file. Errors throw
// ConfigError whose what() names file, line and key, e.g.
//   "tern.toml:12: [limits] message_size: bad size \"50Q\" (use K, M or G)".
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tern::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "127.0.0.1:2525" or "[::1]:2525". Port 0 = ephemeral (tests).
struct Endpoint {
  std::string host;   // literal IP address, no brackets
  std::uint16_t port = 0;
  bool v6() const { return host.find(':') != std::string::npos; }
  std::string text() const;  // back to "host:port" / "[host]:port"
};

struct Listener {
  std::vector<Endpoint> listen;  // empty = this listener is off
  bool enabled() const { return !listen.empty(); }
};

struct TlsConfig {
  std::string cert;  // PEM chain file; empty = self-signed in data_dir/tls
  std::string key;   // PEM key file
};

struct Limits {
  std::uint64_t message_size = 50ull << 20;  // SIZE; 552 5.3.4 beyond
  unsigned recipients = 100;                 // per message; 452 4.5.3 beyond
  unsigned connections = 1000;               // per listener; 421 4.7.0
  unsigned connections_per_ip = 20;          // per listener and client IP
  std::chrono::seconds command_timeout{300}; // RFC 5321 4.5.3.2.7
  std::chrono::seconds data_timeout{600};    // each line of DATA / 1000 octets of BDAT
  std::chrono::seconds session_timeout{3600}; // a whole SMTP session, then 421 4.4.2
  unsigned error_limit = 20;                 // bad commands, then 421 and close
  unsigned junk_limit = 100;                 // NOOP/RSET/VRFY/HELP, then each is an error
  unsigned auth_failures = 5;                // failed logins per IP per minute
  unsigned ipv6_prefix = 64;                 // IPv6 clients counted per /N (per-IP limits)
  std::size_t command_line = 512;            // RFC 5321 4.5.3.1.4 (SMTP command line)
  std::size_t text_line = 1000;              // RFC 5321 4.5.3.1.6 (text line in DATA)
};

struct SmtpListener : Listener {
  bool auth = false;  // [smtp] auth = true offers AUTH on the MX listener
};

struct SmtpConfig {
  SmtpListener smtp;          // MX (25), STARTTLS, no AUTH by default
  Listener submission;        // 587: STARTTLS, AUTH required before MAIL
  Listener submissions;       // 465: implicit TLS, AUTH required
  std::vector<std::string> trusted_networks;  // [smtp] trusted_networks, CIDRs; empty default
  // [smtp] check_header_from: an authenticated client's From: header must name only
  // addresses its user owns (550 5.7.1 otherwise). The envelope sender is always checked.
  bool check_header_from = true;
};

struct MailAccessConfig {
  Listener plain;                    // [imap] / [pop3]
  Listener implicit_tls;             // [imaps] / [pop3s]
  bool allow_plaintext_auth = false; // [imap]/[pop3] allow_plaintext_auth
};

struct Pop3Config : MailAccessConfig {
  std::optional<unsigned> expire_days;        // [pop3] expire (CAPA EXPIRE), not enforced yet
  std::optional<unsigned> login_delay_secs;   // [pop3] login_delay (CAPA LOGIN-DELAY)
};

// [imap] limits (design §6). The literal limit is [limits] message_size.
struct ImapConfig : MailAccessConfig {
  // Command text without literals; Dovecot's imap_max_line_length, and RFC 7162 §4
  // asks for at least 8192 octets (long UID sets of CONDSTORE/QRESYNC clients).
  std::size_t command_line = 64 * 1024;
  // Depth of parenthesised lists and of SEARCH NOT/OR/() keys: real clients nest a
  // few levels; deep nesting only costs CPU and stack.
  std::size_t nesting = 32;
  // Ranges in one sequence set ("1,3,5:7" is 3): bounds the work a set costs.
  std::size_t sequence_ranges = 10000;
  // RFC 9051 §5.4: the autologout timer is at least 30 minutes; IDLE (RFC 2177)
  // clients re-issue IDLE every 29 minutes.
  std::chrono::seconds idle_timeout{30 * 60};
  // Before login: RFC 9051 §5.4 allows a shorter timer for unauthenticated sessions.
  std::chrono::seconds login_timeout{60};
  // SELECT of a mailbox of at least this many messages keeps a snapshot of its view
  // for the next SELECT in the process, which then reads only what changed since
  // (imapd/src/view_cache.hpp). Below, a load from the store costs about the copy.
  std::size_t view_cache_messages = 2048;
  // All the snapshots of one tern-imapd, least recently used dropped first: 48 octets
  // a message (64M: 13 mailboxes of 100,000 messages). 0: no cache.
  std::size_t view_cache_size = 64u << 20;
};

struct DnsConfig {
  std::vector<Endpoint> servers;  // resolver override (tests); empty = system
  // Per query, then temp_fail "timeout" (1..60 s). libunbound retransmits and tries
  // the other servers inside it; there is no separate attempts count.
  std::chrono::seconds timeout{10};
};

struct OutboundConfig {
  bool enabled = true;      // false: tern-mta queues but sends nothing (hold)
  std::uint16_t port = 25;  // remote MX port (tests override)
  // "may" = opportunistic STARTTLS (Postfix's default); "verify" = STARTTLS with a
  // valid certificate for the MX name, else defer (never send in clear).
  std::string tls = "may";
  std::string ca_file;                          // extra CA bundle for verification
  unsigned connections = 100;                   // outbound connections in total
  unsigned connections_per_destination = 10;    // per domain (or to the relay)
  std::chrono::seconds retry_min{300};          // first retry; doubles per attempt
  std::chrono::seconds retry_max{3600};         // cap of the interval
  std::chrono::seconds max_age{5 * 86400};      // then bounce (RFC 5321 4.5.4.1: 4-5 days)
  std::chrono::seconds delay_notice{4 * 3600};  // "delayed" DSN once after this; 0 = never
};

struct RelayConfig {
  std::string host;  // "smtp.example.net:587"; empty = deliver direct to MX
  std::string username;
  std::string password_file;
  // "starttls" (587), "implicit" (TLS from the first byte, 465), or "auto": implicit
  // on port 465, else STARTTLS. Either way the certificate is verified (system CAs plus
  // [outbound] ca_file) against the host name.
  std::string tls = "auto";
};

// [web]: tern-web, the admin panel (admin-web/).
struct WebConfig : Listener {
  std::chrono::seconds session_idle{1800};       // [web] session_idle: logged out after this idle
  std::chrono::seconds session_lifetime{43200};  // [web] session_lifetime: absolute, from login
  std::uint64_t max_body = 1ull << 20;           // [web] max_body: request body limit (413 beyond)
  bool tls = false;  // [web] tls: HTTPS on loopback addresses too (always HTTPS elsewhere)
};

struct LogConfig {
  std::string level = "info";  // trace debug info warn error
};

struct AuthConfig {
  std::chrono::seconds cache_ttl{3600};  // [auth] cache_ttl; 0 disables the cache
  std::size_t cache_size = 10000;        // entries
  unsigned account_failures = 10;        // [auth] failed logins per account per minute, then refused
  std::chrono::seconds failure_delay{1}; // [auth] first throttle delay, doubling (0 = no delay)
  unsigned password_min_length = 8;      // [auth] ternctl refuses shorter new passwords
};

struct StoreConfig {
  std::chrono::seconds events_retention{30 * 86400};  // [store] events_retention
  // Rejection events (refused RCPTs and messages) are written in one batched commit
  // every events_flush, at most events_per_ip of them per client IP (IPv6 per
  // [limits] ipv6_prefix) per minute; the rest are counted in one summary event.
  std::chrono::seconds events_flush{1};
  unsigned events_per_ip = 100;                      // 0 = no cap
};

// [checks]: SPF, DKIM and DMARC on mail arriving at the MX listener (not submission).
// What to do with a message: deliver with its Authentication-Results (accept), deliver
// to the recipient's Junk (junk), or refuse it at the end of data with 550 5.7.1 (reject).
enum class CheckAction { accept, junk, reject };
std::string_view check_action_name(CheckAction a);

struct CheckPolicy {
  CheckAction dmarc_reject = CheckAction::reject;     // DMARC fail under p=reject
  CheckAction dmarc_quarantine = CheckAction::junk;   // DMARC fail under p=quarantine
  CheckAction spf_fail = CheckAction::accept;         // SPF fail, no aligned DKIM pass
};

struct ChecksConfig {
  bool enabled = true;
  std::string authserv_id;                 // empty = hostname (RFC 8601 §2.5)
  std::chrono::seconds timeout{20};        // DNS budget per check (RFC 7208 §4.6.4)
  CheckPolicy policy;                      // defaults for every recipient domain
  std::vector<std::pair<std::string, CheckPolicy>> domains;  // [checks.domain."example.com"]
  // The policy for a recipient domain (lower case).
  const CheckPolicy& policy_for(std::string_view domain) const;
};

struct Config {
  std::string hostname = "localhost";
  std::filesystem::path data_dir = "/var/lib/tern";  // the embedded dev config sets ./var; made absolute at load
  std::string user = "tern";                 // unprivileged user when started as root
  TlsConfig tls;
  SmtpConfig smtp;
  ImapConfig imap;
  Pop3Config pop3;
  WebConfig web;
  DnsConfig dns;
  OutboundConfig outbound;
  RelayConfig relay;
  Limits limits;
  LogConfig log;
  AuthConfig auth;
  StoreConfig store;
  ChecksConfig checks;
  std::string source = "<embedded default>";  // file name, for messages
};

// The embedded default config (dev mode): localhost, unprivileged ports, ./var.
std::string_view default_config_text();

// Parse TOML text. `source` names the file in error messages.
Config parse_config(std::string_view text, std::string_view source);
// Read and parse a file; throws ConfigError (also for an unreadable file).
Config load_config(const std::filesystem::path& file);
// `--config FILE` given ? load_config(FILE) : parse_config(default_config_text()).
// Then, when the environment has TERN_DATA_DIR (absolute), it replaces data_dir: tern
// sets it for the daemons it starts when their user cannot reach data_dir by its path
// (a clone under /root): they run in data_dir and get "/proc/self/cwd".
Config load_config_or_default(const std::optional<std::filesystem::path>& file);

// Value syntax helpers (pure; throw ConfigError with the message text only).
std::uint64_t parse_size(std::string_view s);          // "50M" -> 52428800; K M G
std::chrono::seconds parse_duration(std::string_view s); // "12s" "5m" "1h" "30d"
Endpoint parse_endpoint(std::string_view s);           // "127.0.0.1:25" "[::1]:25"

// The effective config as TOML text (tern --check-config prints it).
std::string dump_config(const Config& c);

}  // namespace tern::config
