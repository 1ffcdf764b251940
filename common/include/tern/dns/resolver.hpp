#pragma once
// tern::dns::Resolver — the one asynchronous DNS resolver of every tern daemon
// (outbound MX routing, SPF/DKIM/DMARC checks, PTR). libunbound in threaded async
// mode, its result pipe watched on the Asio loop: no call here ever blocks an io
// thread.
//
// Use:
//   tern::dns::Resolver res(io.get_executor(), cfg.dns);      // once per daemon
//   auto mx  = co_await res.mx("example.test");                // MxAnswer
//   if (mx.status == tern::dns::Status::temp_fail) ...         // defer (4xx)
//   auto txt = co_await res.txt("example.test");               // SPF: join done
//   auto a   = co_await res.addresses("mx.example.test");      // AAAA then A
//   auto ptr = co_await res.ptr("192.0.2.1");
//
// Contract:
//   - Every call may be made from any thread and any executor; it resumes the
//     awaiting coroutine on the executor it awaited from (its own io thread).
//   - Results are typed (records.hpp): ok / nxdomain / no_data / temp_fail, so
//     callers map them to SPF none/temperror, DKIM permerror/temperror, SMTP
//     5xx/4xx without looking at rcodes. A DNSSEC-bogus answer is temp_fail.
//   - Each query is bounded by Options::timeout when set, else by [dns] timeout
//     (DnsConfig::timeout, default 10 s); on expiry it is cancelled inside unbound and
//     answers temp_fail with error "timeout". (libunbound retransmits and tries the
//     other servers within that time; there is no attempts count of our own.)
//   - [dns] servers ("127.0.0.1:5353", "[::1]:53") are used as forwarders, in
//     order; empty = the system's /etc/resolv.conf (or full recursion when that
//     file is missing). The RFC 6761 zone "test." is not blocked (unbound's
//     built-in local zone would answer NXDOMAIN for *.test without asking).
//   - DNSSEC: answers are validated only when Options give a trust anchor;
//     AnswerMeta::secure says whether one was validated.
//   - shutdown() (also run by the destructor) answers every pending query with
//     temp_fail "resolver shut down". Destroy the Resolver before its io_context.
//   - No exceptions on lookups; the constructor throws std::runtime_error when
//     libunbound refuses the configuration.
//   - Names are taken as given (a trailing dot is optional). A name that cannot
//     be one (over 253 octets, an empty or 64+ octet label) answers nxdomain with
//     error "bad name" and sends no query.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/config/config.hpp"
#include "tern/dns/records.hpp"
#include "tern/net/asio.hpp"

namespace tern::dns {

struct Options {
  std::optional<std::chrono::milliseconds> timeout;  // per query; unset = [dns] timeout
  std::vector<std::string> trust_anchors;    // "zone. IN DS ..." lines (tests)
  std::string trust_anchor_file;             // e.g. /usr/share/dns/root.key
};

class Resolver {
 public:
  // ex: the executor whose thread runs unbound's callbacks (one io_context).
  Resolver(asio::any_io_executor ex, const config::DnsConfig& cfg, Options opt = {});
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  asio::awaitable<MxAnswer> mx(std::string domain);
  asio::awaitable<AddressAnswer> a(std::string host);
  asio::awaitable<AddressAnswer> aaaa(std::string host);
  // AAAA and A queried together; records = AAAA ones first, then A. ok when
  // either has records; nxdomain when both say so; temp_fail when one failed
  // temporarily and the other has none.
  asio::awaitable<AddressAnswer> addresses(std::string host);
  asio::awaitable<TxtAnswer> txt(std::string name);
  // ip is an address literal; its in-addr.arpa / ip6.arpa name is queried.
  asio::awaitable<NameAnswer> ptr(std::string ip);
  // Any type (TLSA, ...): rdata and the whole wire reply.
  asio::awaitable<RawAnswer> query(std::string name, RrType type);

  // Answer every pending query with temp_fail and refuse new ones. Idempotent.
  void shutdown();

  // Queries started so far (tests count them to prove caching/parallelism).
  std::uint64_t queries_started() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tern::dns
