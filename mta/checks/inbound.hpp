#pragma once
// Inbound authentication on the MX listener: SPF at MAIL FROM (and of the HELO
// identity), DKIM and DMARC at the end of data, one Authentication-Results field
// (RFC 8601) and the [checks] policy.
//
// The evaluators (tern::spf, tern::dkim, tern::dmarc) are pure and ask for DNS answers;
// this file answers them with the shared asynchronous resolver on the session's own
// io thread, so a check never blocks a thread and sessions never wait for each other.
// Questions that do not depend on each other are asked at once: the SPF checks of
// MAIL FROM and of HELO run side by side, every question of one evaluator round (an
// mx mechanism's hosts, the DMARC tree walk) goes out together, and at the end of
// data every signature's key and the DMARC policy discovery are fetched concurrently,
// so a message waits about as long as its slowest chain of answers, not their sum.
// SPF's own term order and limits are untouched: its evaluator asks for the next
// round only when it needs it. Each check has a DNS budget ([checks] timeout, default
// 20 s, RFC 7208 §4.6.4): a question asked after it is answered temperror without a
// query, so a check ends within the budget plus one query timeout (a DNS timeout is a
// temperror). DKIM hashing and signature checks (CPU) run on the given thread pool.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "answer_cache.hpp"
#include "tern/config/config.hpp"
#include "tern/dkim/key_cache.hpp"
#include "tern/dkim/verifier.hpp"
#include "tern/dmarc/dmarc.hpp"
#include "tern/dns/resolver.hpp"
#include "tern/net/asio.hpp"
#include "tern/smtp/reply.hpp"
#include "tern/spf/spf.hpp"

namespace tern::mta {

// Kept between messages, shared by every session of the daemon (each thread-safe):
// DNS answers by TTL (answer_cache.hpp) and parsed DKIM keys (tern/dkim/key_cache.hpp).
struct CheckCaches {
  AnswerCache answers;
  dkim::KeyCache keys;
};

struct SpfCheck {
  // The deciding identity: MAIL FROM, or HELO for the null sender (RFC 7208 §2.4). It
  // alone feeds DMARC (RFC 9989 §4.4.2, RFC 7489 §4.1: the MAIL FROM domain, the HELO
  // domain only when MAIL FROM is null) and the [checks] spf_fail policy.
  spf::Verdict verdict;
  bool helo_identity = false;  // MAIL FROM:<> → verdict is the HELO identity's (§2.4)
  std::string mailfrom;        // the MAIL FROM address (empty for the null sender)
  std::string helo;
  // RFC 7208 §2.3: the HELO identity checked on its own beside a non-null MAIL FROM,
  // when the HELO is a multi-label domain name (not an address literal). Reported in
  // Authentication-Results (spf=... smtp.helo=...) and logged; it decides nothing.
  std::optional<spf::Verdict> helo_verdict;
};

// True when RFC 7208 §2.3 lets the HELO identity be checked: a multi-label domain name
// (letters, digits, '-', '_'; labels of 1..63 octets; not an address literal, not all
// digits in the last label). Pure.
bool helo_checkable(std::string_view helo);

// SPF for the MAIL FROM identity and, concurrently, for the HELO identity (each its
// own check_host() with its own limits, on the shared resolver); the null sender checks
// the HELO identity once, as the deciding one. `caches` may be nullptr (nothing kept).
asio::awaitable<SpfCheck> check_spf(dns::Resolver& res, CheckCaches* caches, const config::ChecksConfig& cfg,
                                    std::string client_ip, std::string mailfrom, std::string helo,
                                    std::string receiver);

enum class Disposition { accept, junk, reject };

struct MessageVerdict {
  std::string header;                 // "Authentication-Results: ...\r\n"
  Disposition disposition = Disposition::accept;
  std::vector<std::string> junk_domains;  // recipient domains whose copies go to Junk
  smtp::Reply rejection;              // set when disposition == reject
  std::string summary;                // "spf=pass dkim=pass dmarc=pass" (logs, events)
  std::string rule;                   // which policy decided ("dmarc p=reject", ...)
};

// DKIM (every signature) and DMARC for a received message (CRLF text, header first),
// then the Authentication-Results field and the policy per recipient domain.
// `pool` runs the DKIM crypto (nullptr: inline); `caches` may be nullptr.
asio::awaitable<MessageVerdict> check_message(dns::Resolver& res, CheckCaches* caches,
                                              const config::ChecksConfig& cfg,
                                              std::string authserv_id, std::string message,
                                              SpfCheck spf, std::vector<std::string> recipient_domains,
                                              asio::thread_pool* pool);

// The policy decision alone (pure; unit-tested): given the results, what each recipient
// domain's [checks] policy says. Reject wins over junk, junk over accept.
MessageVerdict decide(const config::ChecksConfig& cfg, const SpfCheck& spf,
                      const std::vector<dkim::SignatureResult>& dkim, const std::optional<dmarc::Verdict>& dm,
                      const std::string& from_domain, const std::vector<std::string>& recipient_domains);

// The Authentication-Results field for these results (pure).
std::string authentication_results(std::string_view authserv_id, const SpfCheck& spf,
                                   const std::vector<dkim::SignatureResult>& dkim,
                                   const std::optional<dmarc::Verdict>& dm, const std::string& from_domain,
                                   const std::string& dmarc_problem);

}  // namespace tern::mta
