#include "tern/dmarc/dmarc.hpp"

#include <algorithm>
#include <map>

#include "tern/dkim/message.hpp"
#include "tern/dkim/tag_list.hpp"

namespace tern::dmarc {
namespace {

using checks::DnsAnswer;
using checks::DnsStatus;
using checks::RrType;

std::optional<Policy> parse_policy(std::string_view v) {
  if (dkim::iequals(v, "none")) return Policy::none;
  if (dkim::iequals(v, "quarantine")) return Policy::quarantine;
  if (dkim::iequals(v, "reject")) return Policy::reject;
  return std::nullopt;
}

std::vector<std::string_view> labels_of(std::string_view d) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = d.find('.', start);
    out.push_back(d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

// The rightmost n labels of d.
std::string suffix_labels(std::string_view d, std::size_t n) {
  auto l = labels_of(d);
  if (n >= l.size()) return std::string(d);
  std::string out;
  for (std::size_t i = l.size() - n; i < l.size(); ++i) {
    if (!out.empty()) out += '.';
    out += l[i];
  }
  return out;
}

// RFC 9989 §4.10: the names the tree walk visits, longest first.
std::vector<std::string> walk_names(const std::string& domain) {
  std::vector<std::string> out{domain};
  std::size_t x = labels_of(domain).size();
  while (x > 1) {
    x = x >= 8 ? 7 : x - 1;
    out.push_back(suffix_labels(domain, x));
  }
  return out;
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  char prev = '.';
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
              static_cast<unsigned char>(c) >= 0x80;  // U-labels (RFC 6531) are compared as is
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

class Evaluator {
 public:
  Evaluator(const Input& in, const Lookup& lookup) : in_(in), lookup_(lookup) {}

  Step run() {
    Step step;
    Verdict v = compute();
    if (suspended_) {
      step.questions = std::move(missing_);
      return step;
    }
    step.verdict = std::move(v);
    return step;
  }

 private:
  struct Found {
    bool temperror = false;
    std::optional<Record> record;
  };

  // The DMARC record at _dmarc.<name>, or nullopt when the answer is missing.
  std::optional<Found> record_at(const std::string& name) {
    auto it = memo_.find(name);
    if (it != memo_.end()) return it->second;
    checks::DnsQuestion q{"_dmarc." + name, RrType::txt};
    const DnsAnswer* a = lookup_(q);
    if (!a) {
      if (std::find(missing_.begin(), missing_.end(), q) == missing_.end()) missing_.push_back(q);
      suspended_ = true;
      return std::nullopt;
    }
    Found f;
    if (a->status == DnsStatus::temperror) {
      f.temperror = true;
    } else if (a->status == DnsStatus::ok) {
      // Records not starting with v=DMARC1 are discarded; several valid ones: none.
      int n = 0;
      for (const auto& rec : a->records) {
        std::string err;
        if (auto r = parse_record(rec.text, &err)) {
          if (++n == 1) f.record = std::move(r);
        }
      }
      if (n > 1) f.record.reset();
    }
    memo_[name] = f;
    return f;
  }

  // Organizational domain (§4.10.2); nullopt when suspended or on temperror (*temp).
  std::optional<std::string> org_domain(const std::string& domain, bool* temp) {
    auto it = org_memo_.find(domain);
    if (it != org_memo_.end()) return it->second;
    auto names = walk_names(domain);
    std::vector<std::optional<Found>> found;
    bool missing = false;
    for (const auto& n : names) {  // ask for the whole walk at once
      found.push_back(record_at(n));
      if (!found.back()) missing = true;
    }
    if (missing) return std::nullopt;
    std::optional<std::string> fewest;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (found[i]->temperror) {
        *temp = true;
        return std::nullopt;
      }
      const auto& r = found[i]->record;
      if (!r) continue;
      if (r->psd == 'n') return org_memo_[domain] = names[i];
      if (r->psd == 'y' && names[i] != domain)
        return org_memo_[domain] = suffix_labels(domain, labels_of(names[i]).size() + 1);
      fewest = names[i];
    }
    return org_memo_[domain] = fewest.value_or(domain);
  }

  // 1 aligned, 0 not, -1 suspended, -2 temperror.
  int aligned(const std::string& auth, bool strict, const std::string& from_org) {
    std::string a = checks::normalize_dns_name(auth);
    if (a.empty()) return 0;
    if (a == from_) return 1;
    if (strict) return 0;
    bool temp = false;
    auto o = org_domain(a, &temp);
    if (temp) return -2;
    if (!o) return -1;
    return *o == from_org ? 1 : 0;
  }

  Verdict compute() {
    Verdict v;
    from_ = checks::normalize_dns_name(in_.from_domain);
    if (!valid_domain(from_)) {
      v.result = Result::permerror;
      v.problem = "no usable RFC5322.From domain";
      return v;
    }
    // Policy discovery: the first record on the walk from the author domain.
    std::optional<Record> rec;
    for (const auto& n : walk_names(from_)) {
      auto f = record_at(n);
      if (!f) return v;  // suspended: ask one level at a time (most mail stops at once)
      if (f->temperror) {
        v.result = Result::temperror;
        v.problem = "DNS error for _dmarc." + n;
        return v;
      }
      if (f->record) {
        rec = f->record;
        v.policy_domain = n;
        break;
      }
    }
    if (!rec) {
      v.result = Result::none;
      return v;
    }
    bool temp = false;
    auto org = org_domain(from_, &temp);
    if (temp) {
      v.result = Result::temperror;
      v.problem = "DNS error in the tree walk";
      return v;
    }
    if (!org) return v;
    v.org_domain = *org;
    int spf = in_.spf.pass ? aligned(in_.spf.domain, rec->strict_spf, *org) : 0;
    int dk = 0;
    bool pending = spf == -1;
    for (const auto& d : in_.dkim) {
      if (!d.pass) continue;
      int a = aligned(d.domain, rec->strict_dkim, *org);
      if (a == 1 && dk != 1) {
        dk = 1;
        v.dkim_domain = checks::normalize_dns_name(d.domain);
      }
      if (a == -1) pending = true;
      if (a == -2) temp = true;
    }
    if (spf == -2) temp = true;
    if (pending && spf != 1 && dk != 1) return v;  // suspended
    if (temp && spf != 1 && dk != 1) {
      v.result = Result::temperror;
      v.problem = "DNS error in the tree walk";
      return v;
    }
    suspended_ = false;
    missing_.clear();
    v.spf_aligned = spf == 1;
    v.dkim_aligned = dk == 1;
    v.result = (v.spf_aligned || v.dkim_aligned) ? Result::pass : Result::fail;
    // Which policy applies.
    Policy p = rec->p;
    v.used = 'p';
    if (v.policy_domain != from_) {
      bool nonexistent = false;
      if (rec->np) {
        const DnsAnswer* a = lookup_(checks::DnsQuestion{from_, RrType::a});
        if (!a) {
          missing_.push_back(checks::DnsQuestion{from_, RrType::a});
          suspended_ = true;
          return v;
        }
        nonexistent = a->status == DnsStatus::nxdomain;
      }
      if (nonexistent) {
        p = *rec->np;
        v.used = 'n';
      } else if (rec->sp) {
        p = *rec->sp;
        v.used = 's';
      }
    }
    if (rec->testing) p = p == Policy::reject ? Policy::quarantine : Policy::none;
    v.policy = p;
    v.disposition = v.result == Result::fail ? p : Policy::none;
    return v;
  }

  const Input& in_;
  const Lookup& lookup_;
  std::string from_;
  std::map<std::string, Found> memo_;
  std::map<std::string, std::string> org_memo_;
  std::vector<checks::DnsQuestion> missing_;
  bool suspended_ = false;
};

}  // namespace

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::none: return "none";
    case Policy::quarantine: return "quarantine";
    case Policy::reject: return "reject";
  }
  return "none";
}

std::string_view result_name(Result r) {
  switch (r) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "none";
}

std::optional<Record> parse_record(std::string_view txt, std::string* error) {
  if (txt.size() > 4096) {
    if (error) *error = "record too long";
    return std::nullopt;
  }
  auto tags = dkim::parse_tag_list(txt, error);
  if (!tags) return std::nullopt;
  if (tags->empty() || tags->front().name != "v" || tags->front().value != "DMARC1") {
    if (error) *error = "not a DMARC record (v=DMARC1 must come first)";
    return std::nullopt;
  }
  Record r;
  for (const auto& t : *tags) {
    if (t.name == "p") {
      r.p = parse_policy(t.value).value_or(Policy::none);  // §4.7: unknown p= is none
    } else if (t.name == "sp") {
      r.sp = parse_policy(t.value);
    } else if (t.name == "np") {
      r.np = parse_policy(t.value);
    } else if (t.name == "adkim") {
      r.strict_dkim = t.value == "s";
    } else if (t.name == "aspf") {
      r.strict_spf = t.value == "s";
    } else if (t.name == "psd") {
      if (t.value == "y" || t.value == "n" || t.value == "u") r.psd = t.value[0];
    } else if (t.name == "t") {
      r.testing = t.value == "y";
    } else if (t.name == "rua") {
      std::string_view v = t.value;
      while (!v.empty() && r.rua.size() < 16) {
        std::size_t c = v.find(',');
        std::string u(v.substr(0, c));
        u.erase(std::remove_if(u.begin(), u.end(), [](char ch) { return ch == ' ' || ch == '\t'; }), u.end());
        if (!u.empty()) r.rua.push_back(u);
        if (c == std::string_view::npos) break;
        v.remove_prefix(c + 1);
      }
    }
    // pct, rf, ri, ruf, fo: ignored (RFC 9989 removed pct/rf/ri; no failure reports).
  }
  return r;
}

Step evaluate(const Input& in, const Lookup& lookup) { return Evaluator(in, lookup).run(); }

std::optional<std::string> from_domain(std::string_view v) {
  if (v.size() > 8192) return std::nullopt;
  // Remove comments and folding, keep quoted strings intact, find the addresses.
  std::string s;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '\\' && i + 1 < v.size() && (quoted || depth)) {
      if (!depth) { s += c; s += v[i + 1]; }
      ++i;
      continue;
    }
    if (!depth && c == '"') quoted = !quoted;
    if (!quoted) {
      if (c == '(') { ++depth; continue; }
      if (c == ')' && depth) { --depth; continue; }
    }
    if (!depth) s += c;
  }
  if (quoted || depth) return std::nullopt;
  // Split on commas outside quotes and angle brackets.
  std::vector<std::string> parts;
  std::string cur;
  quoted = false;
  bool angle = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && quoted && i + 1 < s.size()) { cur += s[++i]; continue; }
    if (c == '"') quoted = !quoted;
    else if (!quoted && c == '<') angle = true;
    else if (!quoted && c == '>') angle = false;
    if (c == ',' && !quoted && !angle) {
      parts.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  std::optional<std::string> domain;
  int count = 0;
  for (auto& p : parts) {
    auto lt = p.find('<');
    std::string addr;
    if (lt != std::string::npos) {
      auto gt = p.find('>', lt);
      if (gt == std::string::npos) return std::nullopt;
      addr = p.substr(lt + 1, gt - lt - 1);
    } else {
      // A bare addr-spec: no quotes outside the local part allowed; take it all.
      addr = p;
    }
    addr.erase(std::remove_if(addr.begin(), addr.end(), [](char c) { return c == ' ' || c == '\t'; }),
               addr.end());
    if (addr.empty()) continue;
    ++count;
    auto at = addr.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    std::string d = checks::normalize_dns_name(addr.substr(at + 1));
    if (!valid_domain(d)) return std::nullopt;
    domain = d;
  }
  if (count != 1) return std::nullopt;
  return domain;
}

}  // namespace tern::dmarc
