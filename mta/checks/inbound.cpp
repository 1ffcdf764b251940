#include "inbound.hpp"

#include <algorithm>
#include <map>

#include "tern/authres/authres.hpp"
#include "tern/net/connection.hpp"

namespace tern::mta {
namespace {

using namespace asio::experimental::awaitable_operators;
using checks::DnsAnswer;
using checks::DnsQuestion;
using checks::DnsStatus;
using checks::RrType;
using Clock = std::chrono::steady_clock;

checks::DnsStatus map_status(dns::Status s) {
  switch (s) {
    case dns::Status::ok: return DnsStatus::ok;
    case dns::Status::nxdomain: return DnsStatus::nxdomain;
    case dns::Status::no_data: return DnsStatus::nodata;
    case dns::Status::temp_fail: return DnsStatus::temperror;
  }
  return DnsStatus::temperror;
}

template <class A>
DnsAnswer strings_answer(const A& a) {
  DnsAnswer out;
  out.status = map_status(a.status);
  out.ttl = a.ttl;
  for (const auto& r : a.records) out.records.push_back({r, 0});
  if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
  return out;
}

// One question on the shared resolver (the GCC 12 rules of tern/net/asio.hpp: no ?:
// in a co_await expression).
asio::awaitable<DnsAnswer> fetch(dns::Resolver& res, DnsQuestion q) {
  if (q.type == RrType::a) co_return strings_answer(co_await res.a(q.name));
  if (q.type == RrType::aaaa) co_return strings_answer(co_await res.aaaa(q.name));
  if (q.type == RrType::txt) co_return strings_answer(co_await res.txt(q.name));
  if (q.type == RrType::mx) {
    auto mx = co_await res.mx(q.name);
    DnsAnswer out;
    out.status = map_status(mx.status);
    out.ttl = mx.ttl;
    if (mx.null_mx) out.records.push_back({"", 0});  // RFC 7505: SPF's mx skips it
    for (const auto& h : mx.records) out.records.push_back({h.host, h.preference});
    if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
    co_return out;
  }
  if (q.type == RrType::ptr || q.type == RrType::ns) {
    const dns::RrType type = q.type == RrType::ptr ? dns::RrType::ptr : dns::RrType::ns;  // no ?: in a co_await
    auto raw = co_await res.query(q.name, type);
    DnsAnswer out;
    out.status = map_status(raw.status);
    out.ttl = raw.ttl;
    for (const auto& rd : raw.rdata) {
      std::size_t pos = 0;
      if (auto n = dns::decode_name(rd, pos)) out.records.push_back({*n, 0});
    }
    if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
    co_return out;
  }
  co_return DnsAnswer{};
}

// Every question at once on the shared resolver (each is an independent libunbound
// query); answers in the order of `qs`. A question whose coroutine failed reads as a
// temperror. Waits for the slowest answer (each bounded by the resolver's timeout).
asio::awaitable<std::vector<DnsAnswer>> fetch_all(dns::Resolver& res, std::vector<DnsQuestion> qs) {
  auto ex = co_await asio::this_coro::executor;
  using Op = decltype(asio::co_spawn(ex, fetch(res, DnsQuestion{}), asio::deferred));
  std::vector<Op> ops;
  ops.reserve(qs.size());
  for (const auto& q : qs) ops.push_back(asio::co_spawn(ex, fetch(res, q), asio::deferred));
  auto group = asio::experimental::make_parallel_group(std::move(ops));  // a named local (asio.hpp, GCC 12)
  auto done = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  const auto& errors = std::get<1>(done);
  std::vector<DnsAnswer> answers = std::move(std::get<2>(done));
  for (std::size_t i = 0; i < answers.size() && i < errors.size(); ++i)
    if (errors[i]) answers[i] = DnsAnswer{DnsStatus::temperror, {}};
  co_return answers;
}

// Answers for one evaluator: asked once each, within the budget; an answer the daemon's
// AnswerCache still holds is taken from it without a query (then its TTL decides, not
// the budget), and every answer the resolver gives goes into it.
class DnsCache {
 public:
  DnsCache(dns::Resolver& res, AnswerCache* shared, std::chrono::seconds budget)
      : res_(res), shared_(shared), deadline_(Clock::now() + budget) {}

  const DnsAnswer* find(const DnsQuestion& q) const {
    auto it = map_.find({q.name, static_cast<int>(q.type)});
    return it == map_.end() ? nullptr : &it->second;
  }
  const DnsAnswer* find_txt(std::string_view name) const {
    return find(DnsQuestion{checks::normalize_dns_name(name), RrType::txt});
  }

  // The questions of one round, all at once (fetch_all). One evaluator uses one cache,
  // so no question is in flight twice.
  asio::awaitable<void> answer(std::vector<DnsQuestion> qs) {
    std::vector<DnsQuestion> ask;
    for (auto& q : qs) {
      std::pair<std::string, int> key{q.name, static_cast<int>(q.type)};
      if (map_.count(key) || std::find(ask.begin(), ask.end(), q) != ask.end()) continue;
      if (shared_) {
        if (auto kept = shared_->find(q)) {
          map_[key] = *kept;
          ++hits_;
          continue;
        }
      }
      if (Clock::now() >= deadline_) {
        map_[key] = DnsAnswer{DnsStatus::temperror, {}};  // out of budget: no query
        continue;
      }
      ask.push_back(std::move(q));
    }
    if (ask.empty()) co_return;
    std::vector<DnsAnswer> got = co_await fetch_all(res_, ask);
    for (std::size_t i = 0; i < ask.size(); ++i) {
      DnsAnswer& a = map_[{ask[i].name, static_cast<int>(ask[i].type)}];
      a = i < got.size() ? std::move(got[i]) : DnsAnswer{};
      if (shared_) shared_->store(ask[i], a);
      ++queries_;
    }
  }
  unsigned queries() const { return queries_; }
  unsigned hits() const { return hits_; }

 private:
  dns::Resolver& res_;
  AnswerCache* shared_;
  Clock::time_point deadline_;
  std::map<std::pair<std::string, int>, DnsAnswer> map_;
  unsigned queries_ = 0;
  unsigned hits_ = 0;
};

constexpr int kMaxRounds = 200;  // far above what the SPF/DMARC limits allow

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(std::string(address.substr(at + 1)));
}

bool related(std::string_view a, std::string_view b) {  // equal, or one under the other
  auto under = [](std::string_view x, std::string_view y) {
    return x.size() > y.size() && x.substr(x.size() - y.size()) == y && x[x.size() - y.size() - 1] == '.';
  };
  return a == b || under(a, b) || under(b, a);
}

}  // namespace

bool helo_checkable(std::string_view h) {
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  if (h.empty() || h.size() > 253 || h.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  std::string_view last;
  while (start <= h.size()) {
    std::size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      if (!ok) return false;
    }
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

// One check_host() (RFC 7208 §4) to its verdict: the evaluator's rounds, each round's
// questions at once, within the budget.
asio::awaitable<spf::Verdict> run_spf(dns::Resolver& res, AnswerCache* shared, std::chrono::seconds budget,
                                       spf::Request req) {
  DnsCache cache(res, shared, budget);
  for (int round = 0; round < kMaxRounds; ++round) {
    auto step = spf::evaluate(req, [&](const DnsQuestion& q) { return cache.find(q); });
    if (step.verdict) co_return std::move(*step.verdict);
    co_await cache.answer(std::move(step.questions));
  }
  spf::Verdict v;
  v.result = spf::Result::temperror;
  v.problem = "too many DNS rounds";
  co_return v;
}

}  // namespace

asio::awaitable<SpfCheck> check_spf(dns::Resolver& res, CheckCaches* caches, const config::ChecksConfig& cfg,
                                    std::string client_ip, std::string mailfrom, std::string helo,
                                    std::string receiver) {
  AnswerCache* shared = caches ? &caches->answers : nullptr;
  SpfCheck out;
  out.mailfrom = mailfrom;
  out.helo = helo;
  out.helo_identity = mailfrom.empty();
  spf::Request req;
  req.ip = std::move(client_ip);
  req.sender = std::move(mailfrom);
  req.helo = std::move(helo);
  req.receiver = std::move(receiver);
  req.now = static_cast<std::int64_t>(std::time(nullptr));
  if (out.helo_identity || !helo_checkable(out.helo)) {
    out.verdict = co_await run_spf(res, shared, cfg.timeout, req);
    co_return out;
  }
  // RFC 7208 §2.3: HELO as "postmaster@<helo>", a check of its own (own limits),
  // side by side with MAIL FROM.
  spf::Request helo_req = req;
  helo_req.sender = "postmaster@" + out.helo;
  auto both = co_await (run_spf(res, shared, cfg.timeout, req) && run_spf(res, shared, cfg.timeout, helo_req));
  out.verdict = std::move(std::get<0>(both));
  out.helo_verdict = std::move(std::get<1>(both));
  co_return out;
}

std::string authentication_results(std::string_view id, const SpfCheck& spf,
                                   const std::vector<dkim::SignatureResult>& dk,
                                   const std::optional<dmarc::Verdict>& dm, const std::string& from_domain,
                                   const std::string& dmarc_problem) {
  std::vector<authres::MethodResult> r;
  auto spf_result = [&r](const spf::Verdict& v, const char* property, const std::string& value) {
    authres::MethodResult m{"spf", std::string(spf::result_name(v.result)), "", {}};
    if (!v.mechanism.empty() && v.mechanism != "default") m.comment = "matched " + v.mechanism;
    else if (!v.problem.empty()) m.comment = v.problem;
    m.properties.push_back({property, value});
    r.push_back(std::move(m));
  };
  // RFC 8601 §2.7.2: the deciding identity first; the HELO identity's own result
  // (RFC 7208 §2.3) beside it as a second spf resinfo with smtp.helo.
  if (spf.helo_identity) spf_result(spf.verdict, "smtp.helo", spf.helo);
  else spf_result(spf.verdict, "smtp.mailfrom", spf.mailfrom);
  if (spf.helo_verdict) spf_result(*spf.helo_verdict, "smtp.helo", spf.helo);
  if (dk.empty()) r.push_back({"dkim", "none", "", {}});
  for (const auto& s : dk) {
    authres::MethodResult m{"dkim", std::string(dkim::result_name(s.result)), s.reason, {}};
    if (s.result == dkim::Result::pass && s.key_bits)
      m.comment = std::to_string(s.key_bits) + "-bit key";
    if (s.testing) m.comment += std::string(m.comment.empty() ? "" : "; ") + "key in test mode";
    if (!s.domain.empty()) m.properties.push_back({"header.d", s.domain});
    if (!s.identity.empty()) m.properties.push_back({"header.i", s.identity});
    if (!s.selector.empty()) m.properties.push_back({"header.s", s.selector});
    if (!s.algorithm.empty()) m.properties.push_back({"header.a", s.algorithm});
    if (!s.b_prefix.empty()) m.properties.push_back({"header.b", s.b_prefix});
    r.push_back(std::move(m));
  }
  {
    authres::MethodResult m{"dmarc", dm ? std::string(dmarc::result_name(dm->result)) : "permerror", "", {}};
    if (dm && (dm->result == dmarc::Result::pass || dm->result == dmarc::Result::fail)) {
      m.comment = "p=" + std::string(dmarc::policy_name(dm->policy)) +
                  " dis=" + std::string(dmarc::policy_name(dm->disposition));
      if (dm->used == 's') m.comment += " sp";
      if (dm->used == 'n') m.comment += " np";
    } else if (dm && !dm->problem.empty()) {
      m.comment = dm->problem;
    } else if (!dm) {
      m.comment = dmarc_problem;
    }
    if (!from_domain.empty()) m.properties.push_back({"header.from", from_domain});
    r.push_back(std::move(m));
  }
  return authres::format_header(id, r);
}

MessageVerdict decide(const config::ChecksConfig& cfg, const SpfCheck& spf,
                      const std::vector<dkim::SignatureResult>& dk, const std::optional<dmarc::Verdict>& dm,
                      const std::string& from_domain, const std::vector<std::string>& rcpt_domains) {
  MessageVerdict v;
  std::vector<std::string> parts;
  parts.push_back("spf=" + std::string(spf::result_name(spf.verdict.result)));
  std::string dks;
  for (const auto& s : dk) dks += (dks.empty() ? "" : ",") + std::string(dkim::result_name(s.result));
  parts.push_back("dkim=" + (dks.empty() ? std::string("none") : dks));
  parts.push_back("dmarc=" + (dm ? std::string(dmarc::result_name(dm->result)) : std::string("permerror")));
  for (const auto& p : parts) v.summary += (v.summary.empty() ? "" : " ") + p;

  // Is there a DKIM pass aligned with the SPF-failing identity's domain? With a DMARC
  // record the DMARC verdict says; without one, a pass for the same or a related domain.
  bool aligned_dkim = false;
  if (dm && (dm->result == dmarc::Result::pass || dm->result == dmarc::Result::fail)) {
    aligned_dkim = dm->dkim_aligned;
  } else {
    std::string d = spf.helo_identity ? lower(spf.helo) : domain_of(spf.mailfrom);
    for (const auto& s : dk)
      if (s.result == dkim::Result::pass && (related(s.domain, d) || related(s.domain, from_domain)))
        aligned_dkim = true;
  }
  std::vector<std::string> domains = rcpt_domains;
  if (domains.empty()) domains.push_back("");
  for (const auto& d : domains) {
    const config::CheckPolicy& p = cfg.policy_for(d);
    config::CheckAction act = config::CheckAction::accept;
    std::string rule;
    if (dm && dm->result == dmarc::Result::fail && dm->disposition == dmarc::Policy::reject) {
      act = p.dmarc_reject;
      rule = "dmarc p=reject";
    } else if (dm && dm->result == dmarc::Result::fail && dm->disposition == dmarc::Policy::quarantine) {
      act = p.dmarc_quarantine;
      rule = "dmarc p=quarantine";
    }
    if (spf.verdict.result == spf::Result::fail && !aligned_dkim && p.spf_fail > act) {
      act = p.spf_fail;
      rule = "spf fail without aligned dkim";
    }
    if (act == config::CheckAction::reject) {
      v.disposition = Disposition::reject;
      v.rule = rule;
    } else if (act == config::CheckAction::junk) {
      v.junk_domains.push_back(d);
      if (v.disposition == Disposition::accept) {
        v.disposition = Disposition::junk;
        v.rule = rule;
      }
    }
  }
  if (v.disposition == Disposition::reject) {
    v.junk_domains.clear();
    if (v.rule.rfind("dmarc", 0) == 0)
      v.rejection = smtp::Reply(550, "5.7.1",
                                "Message rejected: DMARC policy of " + from_domain + " (authentication failed)");
    else
      v.rejection = smtp::Reply(550, "5.7.1", "Message rejected: SPF fail for " +
                                                  (spf.helo_identity ? spf.helo : domain_of(spf.mailfrom)));
  }
  return v;
}

namespace {

// The DMARC evaluator's rounds to a verdict, answered from `cache` (nullopt: too many
// rounds). Run first without the DKIM results, beside the key fetches, it asks for
// policy discovery and the From domain's tree walk (and the SPF domain's walk when SPF
// passed), which the real run afterwards finds cached.
asio::awaitable<std::optional<dmarc::Verdict>> run_dmarc(DnsCache& cache, dmarc::Input in) {
  for (int round = 0; round < kMaxRounds; ++round) {
    auto step = dmarc::evaluate(in, [&cache](const DnsQuestion& q) { return cache.find(q); });
    if (step.verdict) co_return std::move(step.verdict);
    co_await cache.answer(std::move(step.questions));
  }
  co_return std::nullopt;
}

asio::awaitable<void> fetch_keys(DnsCache& cache, std::vector<DnsQuestion> qs) {
  co_await cache.answer(std::move(qs));
}

asio::awaitable<void> prefetch_dmarc(DnsCache& cache, dmarc::Input in) {
  (void)co_await run_dmarc(cache, std::move(in));
}

}  // namespace

asio::awaitable<MessageVerdict> check_message(dns::Resolver& res, CheckCaches* caches,
                                              const config::ChecksConfig& cfg, std::string authserv_id,
                                              std::string message, SpfCheck spf,
                                              std::vector<std::string> rcpt_domains, asio::thread_pool* pool) {
  auto ex = co_await asio::this_coro::executor;
  AnswerCache* shared = caches ? &caches->answers : nullptr;
  dkim::KeyCache* parsed_keys = caches ? &caches->keys : nullptr;
  // One cache per evaluator (each question asked once; the two run side by side).
  DnsCache key_cache(res, shared, cfg.timeout);
  DnsCache dmarc_cache(res, shared, cfg.timeout);
  auto verifier = std::make_unique<dkim::Verifier>(std::move(message));
  std::vector<std::string> keys = verifier->key_queries();
  std::vector<DnsQuestion> kq;
  for (const auto& k : keys) kq.push_back(DnsQuestion{checks::normalize_dns_name(k), RrType::txt});
  // The From domain (RFC 9989 §4.4: exactly one From field with one address).
  std::string from_domain, dmarc_problem;
  int from_count = 0;
  std::string from_value;
  if (const auto* m = verifier->message()) {
    for (const auto& f : m->headers) {
      if (!dkim::iequals(f.name, "from")) continue;
      ++from_count;
      from_value = std::string(f.raw.substr(f.raw.find(':') + 1));
    }
  }
  dmarc::Input in;
  if (from_count != 1) {
    dmarc_problem = from_count == 0 ? "no From field" : "several From fields";
  } else if (auto d = dmarc::from_domain(from_value)) {
    from_domain = *d;
    in.from_domain = from_domain;
    in.spf.pass = spf.verdict.result == spf::Result::pass;
    // The deciding identity only: the MAIL FROM domain, HELO for the null sender.
    in.spf.domain = spf.helo_identity ? lower(spf.helo) : domain_of(spf.mailfrom);
  } else {
    dmarc_problem = "unusable From address";
  }
  // Every signature's key and the DMARC policy discovery, concurrently.
  if (!from_domain.empty()) {
    co_await (fetch_keys(key_cache, kq) && prefetch_dmarc(dmarc_cache, in));
  } else {
    co_await key_cache.answer(kq);
  }
  auto lookup = [&key_cache](std::string_view name) { return key_cache.find_txt(name); };
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<dkim::SignatureResult> dk;
  if (pool) {
    dk = co_await net::detail::run_on_pool<std::vector<dkim::SignatureResult>>(
        *pool, ex, [&verifier, &lookup, now, parsed_keys] { return verifier->verify(lookup, now, parsed_keys); });
  } else {
    dk = verifier->verify(lookup, now, parsed_keys);
  }
  std::optional<dmarc::Verdict> dm;
  if (!from_domain.empty()) {
    for (const auto& s : dk) in.dkim.push_back({s.result == dkim::Result::pass, s.domain});
    // Only an aligned-candidate's own tree walk (a d= under another name) is new here.
    dm = co_await run_dmarc(dmarc_cache, in);
    if (!dm) dmarc_problem = "too many DNS rounds";
  }
  MessageVerdict v = decide(cfg, spf, dk, dm, from_domain, rcpt_domains);
  v.header = authentication_results(authserv_id, spf, dk, dm, from_domain, dmarc_problem);
  co_return v;
}

}  // namespace tern::mta
