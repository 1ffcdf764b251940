// SPF check_host() (RFC 7208 §4-§6), resumable: see spf.hpp.
#include <algorithm>

#include "tern/spf/record.hpp"
#include "tern/spf/spf.hpp"

namespace tern::spf {
namespace {

using checks::DnsAnswer;
using checks::DnsQuestion;
using checks::DnsStatus;
using checks::RrType;


// §4.3: a multi-label name, labels 1..63 octets (a final dot allowed), ≤ 253 octets.
bool valid_domain(std::string_view d) {
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= d.size()) {
    std::size_t dot = d.find('.', start);
    std::size_t end = dot == std::string_view::npos ? d.size() : dot;
    if (end == start || end - start > 63) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

bool subdomain_or_equal(std::string_view name, std::string_view target) {
  std::string n = checks::normalize_dns_name(name), t = checks::normalize_dns_name(target);
  if (n == t) return true;
  return n.size() > t.size() && n.compare(n.size() - t.size(), t.size(), t) == 0 &&
         n[n.size() - t.size() - 1] == '.';
}

struct Outcome {
  Result result = Result::neutral;
  bool matched = false;      // for mechanisms
  bool suspended = false;
  std::string mechanism;
  std::string problem;
  std::string explanation;
};

class Evaluator {
 public:
  Evaluator(const Request& req, const Lookup& lookup, const Limits& lim)
      : req_(req), lookup_(lookup), lim_(lim) {}

  Step run() {
    Step step;
    auto ip = IpAddress::parse(req_.ip);
    Verdict v;
    std::string sender = req_.sender;
    if (sender.empty()) sender = "postmaster@" + req_.helo;
    std::size_t at = sender.rfind('@');
    std::string local = at == std::string::npos ? "postmaster" : sender.substr(0, at);
    std::string domain = at == std::string::npos ? sender : sender.substr(at + 1);
    if (local.empty()) local = "postmaster";
    v.domain = domain;
    if (!ip) {
      v.result = Result::permerror;
      v.problem = "bad client address";
      step.verdict = v;
      return step;
    }
    ip_ = *ip;
    ctx_.sender = local + "@" + domain;
    ctx_.local_part = local;
    ctx_.sender_domain = domain;
    ctx_.ip = ip_;
    ctx_.helo = req_.helo;
    ctx_.receiver = req_.receiver;
    ctx_.now = req_.now;
    ctx_.validated_ptr = [this]() { return validated_ptr(ctx_.domain); };
    Outcome o = check_host(domain, true);
    if (o.suspended) {
      step.questions = std::move(missing_);
      return step;
    }
    v.result = o.result;
    v.mechanism = o.mechanism;
    v.problem = o.problem;
    v.dns_terms = dns_terms_;
    v.void_lookups = voids_;
    if (v.result == Result::fail)
      v.explanation = o.explanation.empty() ? req_.default_explanation : o.explanation;
    step.verdict = std::move(v);
    return step;
  }

 private:
  // nullptr: the answer is not known yet (recorded as a question).
  const DnsAnswer* query(const std::string& name, RrType type) {
    DnsQuestion q{checks::normalize_dns_name(name), type};
    const DnsAnswer* a = lookup_(q);
    if (!a && std::find(missing_.begin(), missing_.end(), q) == missing_.end()) missing_.push_back(q);
    return a;
  }

  static bool is_void(const DnsAnswer& a) {
    return a.status == DnsStatus::nxdomain || a.status == DnsStatus::nodata ||
           (a.status == DnsStatus::ok && a.records.empty());
  }

  // Counts a void answer; true when the limit is now exceeded.
  bool count_void(const DnsAnswer& a) { return is_void(a) && ++voids_ > lim_.void_lookups; }

  static Outcome suspended() {
    Outcome o;
    o.suspended = true;
    return o;
  }
  static Outcome error(Result r, std::string why) {
    Outcome o;
    o.result = r;
    o.problem = std::move(why);
    return o;
  }

  // Expands a domain-spec for the current domain; "" and *o set on errors.
  bool target(const std::string& spec, const std::string& domain, std::string* out, Outcome* o) {
    if (spec.empty()) {
      *out = domain;
      return true;
    }
    ctx_.domain = domain;
    std::string s;
    switch (expand_macros(spec, ctx_, false, &s)) {
      case ExpandStatus::suspended: *o = suspended(); return false;
      case ExpandStatus::syntax_error: *o = error(Result::permerror, "bad macro in " + spec); return false;
      case ExpandStatus::ok: break;
    }
    *out = truncate_domain(s);
    return true;
  }

  // The first `ptr_names` PTR names of the client that resolve back to it (§5.5).
  // nullopt while answers are missing. `*all_done` false if suspended.
  std::optional<std::vector<std::string>> validated_names() {
    const DnsAnswer* p = query(ip_.reverse_name(), RrType::ptr);
    if (!p) return std::nullopt;
    std::vector<std::string> names;
    if (p->status != DnsStatus::ok) return names;  // an error: no match (§5.5)
    bool missing = false;
    std::size_t n = 0;
    for (const auto& rec : p->records) {
      if (n++ == lim_.ptr_names) break;
      const DnsAnswer* a = query(rec.text, ip_.v6 ? RrType::aaaa : RrType::a);
      if (!a) {
        missing = true;
        continue;
      }
      if (a->status != DnsStatus::ok) continue;  // an error skips the name
      for (const auto& ar : a->records) {
        auto x = IpAddress::parse(ar.text);
        if (x && *x == ip_) {
          names.push_back(checks::normalize_dns_name(rec.text));
          break;
        }
      }
    }
    if (missing) return std::nullopt;
    return names;
  }

  std::optional<std::string> validated_ptr(const std::string& domain) {
    auto names = validated_names();
    if (!names) return std::nullopt;
    for (const auto& n : *names)
      if (checks::normalize_dns_name(n) == checks::normalize_dns_name(domain)) return n;
    for (const auto& n : *names)
      if (subdomain_or_equal(n, domain)) return n;
    if (!names->empty()) return names->front();
    return std::string("unknown");
  }

  bool ip_in(const DnsAnswer& a, int cidr4, int cidr6) {
    for (const auto& rec : a.records) {
      auto x = IpAddress::parse(rec.text);
      if (x && x->v6 == ip_.v6 && ip_.matches(*x, ip_.v6 ? cidr6 : cidr4)) return true;
    }
    return false;
  }

  // One mechanism; o.matched tells whether it matched.
  Outcome mechanism(const Mechanism& m, const std::string& domain) {
    Outcome o;
    auto counts = [&]() { return ++dns_terms_ > lim_.dns_terms; };
    std::string name;
    switch (m.kind) {
      case Mech::all:
        o.matched = true;
        return o;
      case Mech::ip4:
      case Mech::ip6:
        o.matched = ip_.matches(m.network, m.kind == Mech::ip4 ? m.cidr4 : m.cidr6);
        return o;
      case Mech::include: {
        if (counts()) return error(Result::permerror, "more than 10 DNS lookups");
        if (!target(m.domain_spec, domain, &name, &o)) return o;
        Outcome sub = check_host(name, false);
        if (sub.suspended) return sub;
        switch (sub.result) {
          case Result::pass: o.matched = true; return o;
          case Result::fail: case Result::softfail: case Result::neutral: return o;
          case Result::temperror: return sub;
          case Result::none:
            return error(Result::permerror, "include:" + name + " has no SPF record");
          case Result::permerror: return sub;
        }
        return o;
      }
      case Mech::a: {
        if (counts()) return error(Result::permerror, "more than 10 DNS lookups");
        if (!target(m.domain_spec, domain, &name, &o)) return o;
        if (!valid_domain(name)) return o;
        const DnsAnswer* a = query(name, ip_.v6 ? RrType::aaaa : RrType::a);
        if (!a) return suspended();
        if (a->status == DnsStatus::temperror) return error(Result::temperror, "DNS error for " + name);
        if (count_void(*a)) return error(Result::permerror, "more than 2 void lookups");
        o.matched = ip_in(*a, m.cidr4, m.cidr6);
        return o;
      }
      case Mech::mx: {
        if (counts()) return error(Result::permerror, "more than 10 DNS lookups");
        if (!target(m.domain_spec, domain, &name, &o)) return o;
        if (!valid_domain(name)) return o;
        const DnsAnswer* mx = query(name, RrType::mx);
        if (!mx) return suspended();
        if (mx->status == DnsStatus::temperror) return error(Result::temperror, "DNS error for " + name);
        if (count_void(*mx)) return error(Result::permerror, "more than 2 void lookups");
        if (mx->records.size() > lim_.mx_hosts) return error(Result::permerror, "more than 10 MX hosts");
        bool missing = false;
        for (const auto& rec : mx->records) {
          if (rec.text.empty() || rec.text == ".") continue;  // null MX (RFC 7505)
          const DnsAnswer* a = query(rec.text, ip_.v6 ? RrType::aaaa : RrType::a);
          if (!a) {
            missing = true;  // ask for every host at once
            continue;
          }
          if (missing) continue;
          if (a->status == DnsStatus::temperror) return error(Result::temperror, "DNS error for " + rec.text);
          // The void-lookup limit counts terms (§4.6.4), so an MX host without an
          // address does not count; the MX query itself did.
          if (ip_in(*a, m.cidr4, m.cidr6)) {
            o.matched = true;
            return o;
          }
        }
        if (missing) return suspended();
        return o;
      }
      case Mech::ptr: {
        if (counts()) return error(Result::permerror, "more than 10 DNS lookups");
        if (!target(m.domain_spec, domain, &name, &o)) return o;
        auto names = validated_names();
        if (!names) return suspended();
        for (const auto& n : *names)
          if (subdomain_or_equal(n, name)) o.matched = true;
        return o;
      }
      case Mech::exists: {
        if (counts()) return error(Result::permerror, "more than 10 DNS lookups");
        if (!target(m.domain_spec, domain, &name, &o)) return o;
        if (!valid_domain(name)) return o;
        const DnsAnswer* a = query(name, RrType::a);  // always A (§5.7)
        if (!a) return suspended();
        if (a->status == DnsStatus::temperror) return error(Result::temperror, "DNS error for " + name);
        if (count_void(*a)) return error(Result::permerror, "more than 2 void lookups");
        o.matched = a->status == DnsStatus::ok && !a->records.empty();
        return o;
      }
    }
    return o;
  }

  // §6.2: the exp= text, "" when anything about it is wrong (then the default applies).
  // Suspends like everything else; exp lookups count toward no limit.
  Outcome explanation(const Record& r, const std::string& domain) {
    Outcome o;
    std::string name;
    if (!target(*r.exp, domain, &name, &o)) {
      if (o.suspended) return o;
      return Outcome{};
    }
    if (!valid_domain(name)) return o;
    const DnsAnswer* t = query(name, RrType::txt);
    if (!t) return suspended();
    if (t->status != DnsStatus::ok || t->records.size() != 1) return o;
    const std::string& text = t->records[0].text;
    for (char c : text)
      if (static_cast<unsigned char>(c) > 0x7e || static_cast<unsigned char>(c) < 0x20) return o;
    ctx_.domain = domain;
    std::string out;
    switch (expand_macros(text, ctx_, true, &out)) {
      case ExpandStatus::suspended: return suspended();
      case ExpandStatus::syntax_error: return o;
      case ExpandStatus::ok: o.explanation = out; return o;
    }
    return o;
  }

  Outcome check_host(const std::string& domain_in, bool top) {
    (void)top;
    std::string domain = checks::normalize_dns_name(domain_in);
    if (!valid_domain(domain_in)) return error(Result::none, "not a valid domain: " + domain_in);
    const DnsAnswer* t = query(domain, RrType::txt);
    if (!t) return suspended();
    if (t->status == DnsStatus::temperror) return error(Result::temperror, "DNS error for " + domain);
    if (t->status != DnsStatus::ok) return error(Result::none, "no SPF record for " + domain);
    const std::string* text = nullptr;
    for (const auto& rec : t->records) {
      if (!is_spf_record(rec.text)) continue;
      if (text) return error(Result::permerror, "more than one SPF record for " + domain);
      text = &rec.text;
    }
    if (!text) return error(Result::none, "no SPF record for " + domain);
    std::string err;
    auto rec = parse_record(*text, &err);
    if (!rec) return error(Result::permerror, domain + ": " + err);
    for (const Mechanism& m : rec->mechanisms) {
      Outcome o = mechanism(m, domain);
      if (o.suspended) return o;
      if (o.result == Result::temperror || o.result == Result::permerror) return o;
      if (!o.matched) continue;
      Outcome res;
      res.mechanism = m.text;
      switch (m.qualifier) {
        case Qualifier::pass: res.result = Result::pass; break;
        case Qualifier::fail: res.result = Result::fail; break;
        case Qualifier::softfail: res.result = Result::softfail; break;
        case Qualifier::neutral: res.result = Result::neutral; break;
      }
      if (res.result == Result::fail && rec->exp) {
        Outcome e = explanation(*rec, domain);
        if (e.suspended) return e;
        res.explanation = e.explanation;
      }
      return res;
    }
    if (rec->redirect) {
      if (++dns_terms_ > lim_.dns_terms) return error(Result::permerror, "more than 10 DNS lookups");
      std::string name;
      Outcome o;
      if (!target(*rec->redirect, domain, &name, &o)) return o;
      Outcome sub = check_host(name, false);
      if (sub.suspended) return sub;
      if (sub.result == Result::none)
        return error(Result::permerror, "redirect=" + name + " has no SPF record");
      return sub;
    }
    Outcome o;
    o.result = Result::neutral;
    o.mechanism = "default";
    return o;
  }

  const Request& req_;
  const Lookup& lookup_;
  const Limits& lim_;
  IpAddress ip_;
  MacroContext ctx_;
  std::vector<DnsQuestion> missing_;
  unsigned dns_terms_ = 0, voids_ = 0;
};

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::none: return "none";
    case Result::neutral: return "neutral";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::softfail: return "softfail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "permerror";
}

Step evaluate(const Request& req, const Lookup& lookup, const Limits& limits) {
  return Evaluator(req, lookup, limits).run();
}

}  // namespace tern::spf
