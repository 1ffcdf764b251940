#include "inbound.hpp"

#include <map>

#include "tern/authres/authres.hpp"
#include "tern/net/connection.hpp"

namespace tern::mta {
namespace {

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
  for (const auto& r : a.records) out.records.push_back({r, 0});
  if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
  return out;
}

asio::awaitable<DnsAnswer> fetch(dns::Resolver& res, DnsQuestion q) {
  switch (q.type) {
    case RrType::a: co_return strings_answer(co_await res.a(q.name));
    case RrType::aaaa: co_return strings_answer(co_await res.aaaa(q.name));
    case RrType::txt: co_return strings_answer(co_await res.txt(q.name));
    case RrType::mx: {
      auto mx = co_await res.mx(q.name);
      DnsAnswer out;
      out.status = map_status(mx.status);
      if (mx.null_mx) out.records.push_back({"", 0});  // RFC 7505: SPF's mx skips it
      for (const auto& h : mx.records) out.records.push_back({h.host, h.preference});
      if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
      co_return out;
    }
    case RrType::ptr:
    case RrType::ns: {
      const dns::RrType type = q.type == RrType::ptr ? dns::RrType::ptr : dns::RrType::ns;
      auto raw = co_await res.query(q.name, type);
      DnsAnswer out;
      out.status = map_status(raw.status);
      for (const auto& rd : raw.rdata) {
        std::size_t pos = 0;
        if (auto n = dns::decode_name(rd, pos)) out.records.push_back({*n, 0});
      }
      if (out.status == DnsStatus::ok && out.records.empty()) out.status = DnsStatus::nodata;
      co_return out;
    }
  }
  co_return DnsAnswer{};
}

// Answers for the evaluators: asked once each, within the budget.
class DnsCache {
 public:
  DnsCache(dns::Resolver& res, std::chrono::seconds budget) : res_(res), deadline_(Clock::now() + budget) {}

  const DnsAnswer* find(const DnsQuestion& q) const {
    auto it = map_.find({q.name, static_cast<int>(q.type)});
    return it == map_.end() ? nullptr : &it->second;
  }
  const DnsAnswer* find_txt(std::string_view name) const {
    return find(DnsQuestion{checks::normalize_dns_name(name), RrType::txt});
  }

  // Known gap (see the closing note): the questions of one round are asked one after another; they are few (an mx
  // mechanism's hosts, a DMARC walk) and each is a sub-millisecond loopback query in
  // the common case. Other sessions are not held up meanwhile.
  asio::awaitable<void> answer(const std::vector<DnsQuestion>& qs) {
    for (const auto& q : qs) {
      std::pair<std::string, int> key{q.name, static_cast<int>(q.type)};
      if (map_.count(key)) continue;
      if (Clock::now() >= deadline_) {
        map_[key] = DnsAnswer{DnsStatus::temperror, {}};  // out of budget: no query
        continue;
      }
      map_[key] = co_await fetch(res_, q);
      ++queries_;
    }
  }
  unsigned queries() const { return queries_; }

 private:
  dns::Resolver& res_;
  Clock::time_point deadline_;
  std::map<std::pair<std::string, int>, DnsAnswer> map_;
  unsigned queries_ = 0;
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

asio::awaitable<SpfCheck> check_spf(dns::Resolver& res, const config::ChecksConfig& cfg, std::string client_ip,
                                    std::string mailfrom, std::string helo, std::string receiver) {
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
  DnsCache cache(res, cfg.timeout);
  for (int round = 0; round < kMaxRounds; ++round) {
    auto step = spf::evaluate(req, [&](const DnsQuestion& q) { return cache.find(q); });
    if (step.verdict) {
      out.verdict = std::move(*step.verdict);
      co_return out;
    }
    co_await cache.answer(step.questions);
  }
  out.verdict.result = spf::Result::temperror;
  out.verdict.problem = "too many DNS rounds";
  co_return out;
}

std::string authentication_results(std::string_view id, const SpfCheck& spf,
                                   const std::vector<dkim::SignatureResult>& dk,
                                   const std::optional<dmarc::Verdict>& dm, const std::string& from_domain,
                                   const std::string& dmarc_problem) {
  std::vector<authres::MethodResult> r;
  {
    authres::MethodResult m{"spf", std::string(spf::result_name(spf.verdict.result)), "", {}};
    const auto& v = spf.verdict;
    if (!v.mechanism.empty() && v.mechanism != "default") m.comment = "matched " + v.mechanism;
    else if (!v.problem.empty()) m.comment = v.problem;
    if (spf.helo_identity) m.properties.push_back({"smtp.helo", spf.helo});
    else m.properties.push_back({"smtp.mailfrom", spf.mailfrom});
    r.push_back(std::move(m));
  }
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

asio::awaitable<MessageVerdict> check_message(dns::Resolver& res, const config::ChecksConfig& cfg,
                                              std::string authserv_id, std::string message, SpfCheck spf,
                                              std::vector<std::string> rcpt_domains, asio::thread_pool* pool) {
  auto ex = co_await asio::this_coro::executor;
  DnsCache cache(res, cfg.timeout);
  // The From domain (RFC 9989 §4.4: exactly one From field with one address).
  std::string from_domain, dmarc_problem;
  auto verifier = std::make_unique<dkim::Verifier>(std::move(message));
  std::vector<std::string> keys = verifier->key_queries();
  std::vector<DnsQuestion> kq;
  for (const auto& k : keys) kq.push_back(DnsQuestion{checks::normalize_dns_name(k), RrType::txt});
  co_await cache.answer(kq);
  auto lookup = [&cache](std::string_view name) { return cache.find_txt(name); };
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  std::vector<dkim::SignatureResult> dk;
  if (pool) {
    dk = co_await net::detail::run_on_pool<std::vector<dkim::SignatureResult>>(
        *pool, ex, [&verifier, &lookup, now] { return verifier->verify(lookup, now); });
  } else {
    dk = verifier->verify(lookup, now);
  }
  // From: header.
  int from_count = 0;
  std::string from_value;
  if (const auto* m = verifier->message()) {
    for (const auto& f : m->headers) {
      if (!dkim::iequals(f.name, "from")) continue;
      ++from_count;
      from_value = std::string(f.raw.substr(f.raw.find(':') + 1));
    }
  }
  std::optional<dmarc::Verdict> dm;
  if (from_count != 1) {
    dmarc_problem = from_count == 0 ? "no From field" : "several From fields";
  } else if (auto d = dmarc::from_domain(from_value)) {
    from_domain = *d;
    dmarc::Input in;
    in.from_domain = from_domain;
    in.spf.pass = spf.verdict.result == spf::Result::pass;
    in.spf.domain = spf.helo_identity ? lower(spf.helo) : domain_of(spf.mailfrom);
    for (const auto& s : dk) in.dkim.push_back({s.result == dkim::Result::pass, s.domain});
    for (int round = 0; round < kMaxRounds && !dm; ++round) {
      auto step = dmarc::evaluate(in, [&](const DnsQuestion& q) { return cache.find(q); });
      if (step.verdict) dm = std::move(step.verdict);
      else co_await cache.answer(step.questions);
    }
    if (!dm) dmarc_problem = "too many DNS rounds";
  } else {
    dmarc_problem = "unusable From address";
  }
  MessageVerdict v = decide(cfg, spf, dk, dm, from_domain, rcpt_domains);
  v.header = authentication_results(authserv_id, spf, dk, dm, from_domain, dmarc_problem);
  co_return v;
}

}  // namespace tern::mta
