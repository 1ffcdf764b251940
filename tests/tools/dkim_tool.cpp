// tern-dkim-tool: the DKIM signer and verifier on stdin/stdout, for the python3-dkim
// cross-check (tests/integration/test_dkim_interop.py). Test-only.
//   tern-dkim-tool sign KEY.pem DOMAIN SELECTOR HCANON/BCANON [LENGTH] < msg > signed
//   tern-dkim-tool verify DNSFILE < signed      (DNSFILE lines: "name<TAB>txt")
// verify prints one line per signature: "<result> <d> <s> <reason>".
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include "tern/dkim/signer.hpp"
#include "tern/dkim/verifier.hpp"

using namespace tern;

static std::string slurp(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int main(int argc, char** argv) {
  if (argc >= 6 && std::string(argv[1]) == "sign") {
    std::ifstream kf(argv[2]);
    std::string err;
    auto key = dkim::PrivateKey::from_pem(slurp(kf), &err);
    if (!key) return std::fprintf(stderr, "key: %s\n", err.c_str()), 1;
    dkim::SignOptions o;
    o.domain = argv[3];
    o.selector = argv[4];
    std::string c = argv[5];
    auto slash = c.find('/');
    o.header_canon = c.substr(0, slash) == "simple" ? dkim::Canon::simple : dkim::Canon::relaxed;
    o.body_canon = c.substr(slash + 1) == "simple" ? dkim::Canon::simple : dkim::Canon::relaxed;
    if (argc >= 7) o.body_length = std::stoull(argv[6]);
    o.timestamp = 1764576000;
    std::string msg = dkim::to_crlf(slurp(std::cin));
    auto field = dkim::sign(msg, *key, o, &err);
    if (!field) return std::fprintf(stderr, "sign: %s\n", err.c_str()), 1;
    std::cout << *field << msg;
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "verify") {
    std::map<std::string, checks::DnsAnswer> dns;
    std::ifstream df(argv[2]);
    std::string line;
    while (std::getline(df, line)) {
      auto tab = line.find('\t');
      if (tab == std::string::npos) continue;
      auto& a = dns[line.substr(0, tab)];
      a.status = checks::DnsStatus::ok;
      a.records.push_back({line.substr(tab + 1), 0});
    }
    dkim::Verifier v(dkim::to_crlf(slurp(std::cin)));
    static const checks::DnsAnswer nx{checks::DnsStatus::nxdomain, {}};
    auto res = v.verify([&](std::string_view q) -> const checks::DnsAnswer* {
      auto it = dns.find(std::string(q));
      return it == dns.end() ? &nx : &it->second;
    }, 1764576000);
    for (const auto& r : res)
      std::cout << dkim::result_name(r.result) << " " << r.domain << " " << r.selector << " " << r.reason << "\n";
    return 0;
  }
  std::fprintf(stderr, "usage: tern-dkim-tool sign KEY DOMAIN SELECTOR CANON [LENGTH] | verify DNSFILE\n");
  return 64;
}
