// rdata decoding for the resolver (records.hpp). Names inside the rdata that
// libunbound hands us are uncompressed (library-notes §1), so a compression
// pointer is malformed input here.
#include "tern/dns/records.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace tern::dns {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::nxdomain: return "nxdomain";
    case Status::no_data: return "no_data";
    case Status::temp_fail: return "temp_fail";
  }
  return "?";
}

std::optional<std::string> decode_name(std::string_view rdata, std::size_t& pos) {
  std::string out;
  std::size_t wire = 0;
  for (;;) {
    if (pos >= rdata.size()) return std::nullopt;
    auto len = static_cast<unsigned char>(rdata[pos++]);
    wire += 1 + len;
    if (wire > 255) return std::nullopt;  // RFC 1035 §3.1
    if (len == 0) break;
    if (len > 63) return std::nullopt;    // label limit; also rejects pointers (0xC0)
    if (rdata.size() - pos < len) return std::nullopt;
    if (!out.empty()) out += '.';
    for (std::size_t i = 0; i < len; ++i)
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(rdata[pos + i])));
    pos += len;
  }
  return out;
}

bool mail_host_name(std::string_view n) {
  if (n.empty()) return true;  // the root: a null MX's target
  std::size_t label = 0;
  for (char c : n) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      ++label;
    } else {
      return false;
    }
  }
  return label > 0;
}

std::optional<MxHost> decode_mx(std::string_view rdata) {
  if (rdata.size() < 3) return std::nullopt;
  MxHost mx;
  mx.preference = static_cast<std::uint16_t>((static_cast<unsigned char>(rdata[0]) << 8) |
                                             static_cast<unsigned char>(rdata[1]));
  std::size_t pos = 2;
  auto name = decode_name(rdata, pos);
  if (!name || pos != rdata.size() || !mail_host_name(*name)) return std::nullopt;
  mx.host = std::move(*name);
  return mx;
}

std::optional<std::string> decode_txt(std::string_view rdata) {
  // RFC 1035 §3.3.14: one or more <character-string>s; RFC 7208 §3.3 joins them
  // with nothing in between.
  if (rdata.empty()) return std::nullopt;
  std::string out;
  std::size_t pos = 0;
  while (pos < rdata.size()) {
    auto len = static_cast<unsigned char>(rdata[pos++]);
    if (rdata.size() - pos < len) return std::nullopt;
    out.append(rdata.substr(pos, len));
    pos += len;
  }
  return out;
}

std::optional<std::string> decode_a(std::string_view rdata) {
  if (rdata.size() != 4) return std::nullopt;
  char buf[INET_ADDRSTRLEN];
  if (!inet_ntop(AF_INET, rdata.data(), buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

std::optional<std::string> decode_aaaa(std::string_view rdata) {
  if (rdata.size() != 16) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, rdata.data(), buf, sizeof buf)) return std::nullopt;
  return std::string(buf);
}

std::optional<std::string> reverse_name(std::string_view ip) {
  std::string s(ip);
  unsigned char b[16];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) {
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) +
           "." + std::to_string(b[0]) + ".in-addr.arpa";
  }
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 15; i >= 0; --i) {
      out += hex[b[i] & 0xF];
      out += '.';
      out += hex[b[i] >> 4];
      out += '.';
    }
    return out + "ip6.arpa";
  }
  return std::nullopt;
}

MxAnswer make_mx_answer(AnswerMeta meta, std::vector<MxHost> records, std::size_t malformed) {
  MxAnswer out;
  static_cast<AnswerMeta&>(out) = std::move(meta);
  bool has_root = std::any_of(records.begin(), records.end(),
                              [](const MxHost& m) { return m.host.empty(); });
  std::erase_if(records, [](const MxHost& m) { return m.host.empty(); });
  if (has_root && records.empty() && malformed == 0 && out.status == Status::ok) {
    out.null_mx = true;  // RFC 7505: "0 ." alone
  } else if (out.status == Status::ok && records.empty() && malformed > 0) {
    // MX records exist but none names a host: not the "no MX" case of RFC 5321 §5.1
    // (which would send the mail to the domain's own address); defer, as Postfix does.
    out.status = Status::temp_fail;
    out.error = "malformed MX record (not a host name)";
  } else if (out.status == Status::ok && records.empty()) {
    out.status = Status::no_data;
  }
  std::stable_sort(records.begin(), records.end(), [](const MxHost& x, const MxHost& y) {
    return x.preference < y.preference;
  });
  out.records = std::move(records);
  return out;
}

}  // namespace tern::dns
