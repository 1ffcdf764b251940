// The RFC 7208 test suite from pyspf (tests/data/spf/rfc7208-tests.yml, converted by
// tests/data/spf/yaml2tsv.py into rfc7208-tests.tsv) run through tern's SPF evaluator,
// answering its DNS questions from each scenario's zone the way the suite's own driver
// (pyspf test/testspf.py) does. Every test must give one of its allowed results, and
// the expected explanation where the suite names one.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tern/spf/spf.hpp"

using namespace tern;
using checks::DnsAnswer;
using checks::DnsQuestion;
using checks::DnsStatus;
using checks::RrType;

namespace {

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char n = s[++i];
    if (n == 't') out += '\t';
    else if (n == 'n') out += '\n';
    else if (n == 'x' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else out += n;
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> f;
  std::size_t start = 0;
  for (;;) {
    std::size_t t = line.find('\t', start);
    f.push_back(unescape(line.substr(start, t == std::string::npos ? std::string::npos : t - start)));
    if (t == std::string::npos) break;
    start = t + 1;
  }
  return f;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

struct Test {
  std::string name, host, mailfrom, helo, explanation;
  std::vector<std::string> results;
};

struct Scenario {
  std::string description;
  std::map<std::string, std::vector<std::vector<std::string>>> zone;  // name → rows
  std::vector<Test> tests;
};

std::vector<Scenario> load() {
  std::ifstream f(std::string(TERN_TEST_DATA) + "/spf/rfc7208-tests.tsv");
  std::vector<Scenario> out;
  std::string line;
  while (std::getline(f, line)) {
    auto fld = split_tabs(line);
    if (fld[0] == "S") {
      out.emplace_back();
      out.back().description = fld[1];
    } else if (fld[0] == "Z") {
      out.back().zone[lower(fld[1])].emplace_back(fld.begin() + 2, fld.end());
    } else if (fld[0] == "T") {
      Test t{fld[1], fld[2], fld[3], fld[4], fld[6], {}};
      std::stringstream rs(fld[5]);
      std::string r;
      while (std::getline(rs, r, ',')) t.results.push_back(r);
      out.back().tests.push_back(std::move(t));
    }
  }
  return out;
}

std::string_view type_name(RrType t) { return checks::rr_type_name(t); }

// testspf.py's DNSLookup, answering one question from the zone.
DnsAnswer answer(const Scenario& sc, const std::string& qname, RrType type, int level = 0) {
  DnsAnswer a;
  std::size_t start = 0;
  for (;;) {  // pydns: a label over 63 octets is an error
    std::size_t dot = qname.find('.', start);
    std::size_t end = dot == std::string::npos ? qname.size() : dot;
    if (end - start > 63) return DnsAnswer{DnsStatus::temperror, {}};
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  auto it = sc.zone.find(lower(qname));
  if (it == sc.zone.end()) {
    if (qname.rfind("error.", 0) == 0) return DnsAnswer{DnsStatus::temperror, {}};
    return DnsAnswer{DnsStatus::nxdomain, {}};
  }
  bool seen_type = false;
  for (const auto& row : it->second) {
    if (row[0] == "TIMEOUT") {
      if (!seen_type) return DnsAnswer{DnsStatus::temperror, {}};
      break;
    }
    if (row[0] == "NONE") continue;
    bool same = row[0] == type_name(type);
    if (same) seen_type = true;
    if (row.size() > 1 && row[1] == "TIMEOUT") {
      if (same) return DnsAnswer{DnsStatus::temperror, {}};
      continue;
    }
    if (same) {
      checks::DnsRecord rec;
      if (type == RrType::txt) {
        for (std::size_t i = 1; i < row.size(); ++i) rec.text += row[i];
      } else if (type == RrType::mx) {
        rec.pref = static_cast<std::uint16_t>(std::stoi(row[1]));
        rec.text = lower(row[2]);
      } else {
        rec.text = row[0] == "PTR" ? lower(row[1]) : row[1];
      }
      a.records.push_back(std::move(rec));
    } else if (row[0] == "CNAME" && level == 0) {
      DnsAnswer t = answer(sc, row[1], type, 1);
      if (t.status == DnsStatus::temperror) return t;
      for (auto& r : t.records) a.records.push_back(r);
    }
  }
  a.status = a.records.empty() ? DnsStatus::nodata : DnsStatus::ok;
  return a;
}

}  // namespace

TEST_CASE("RFC 7208 test suite (pyspf rfc7208-tests.yml)", "[spf][rfc7208]") {
  auto scenarios = load();
  REQUIRE(scenarios.size() == 16);
  std::size_t total = 0, passed = 0, preferred = 0;
  for (const Scenario& sc : scenarios) {
    for (const Test& t : sc.tests) {
      ++total;
      std::map<std::pair<std::string, int>, DnsAnswer> cache;
      spf::Request req;
      req.ip = t.host;
      req.sender = t.mailfrom;
      req.helo = t.helo;
      req.default_explanation = "DEFAULT";
      req.now = 1700000000;
      spf::Step step;
      int rounds = 0;
      for (;; ++rounds) {
        step = spf::evaluate(req, [&](const DnsQuestion& q) -> const DnsAnswer* {
          auto it = cache.find({q.name, static_cast<int>(q.type)});
          return it == cache.end() ? nullptr : &it->second;
        });
        if (step.verdict || rounds > 200) break;
        REQUIRE_FALSE(step.questions.empty());
        for (const auto& q : step.questions) cache[{q.name, static_cast<int>(q.type)}] = answer(sc, q.name, q.type);
      }
      REQUIRE(step.verdict);
      std::string got(spf::result_name(step.verdict->result));
      bool ok = std::find(t.results.begin(), t.results.end(), got) != t.results.end();
      if (ok && t.explanation != "-") ok = step.verdict->explanation == t.explanation;
      INFO(sc.description << " / " << t.name << ": got " << got << " (" << step.verdict->problem
                          << ") explanation [" << step.verdict->explanation << "], want "
                          << t.results[0] << " [" << t.explanation << "]");
      CHECK(ok);
      if (ok) ++passed;
      if (ok && got == t.results[0]) ++preferred;
    }
  }
  WARN("RFC 7208 suite: " << passed << " of " << total << " pass, " << preferred
                           << " with the preferred result");
  CHECK(total == 203);
  CHECK(passed == total);
}
