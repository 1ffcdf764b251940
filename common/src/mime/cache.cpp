// Versioned binary form of CachedStructure: LEB128 varints and length-prefixed strings.
#include "tern/mime/cache.hpp"

#include <stdexcept>

#include "tern/mime/imap.hpp"

namespace tern::mime {

namespace {

struct Out {
  std::string s;
  void u(std::uint64_t v) {
    while (v >= 0x80) {
      s.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    s.push_back(static_cast<char>(v));
  }
  void str(std::string_view v) {
    u(v.size());
    s.append(v);
  }
  void opt(const std::optional<std::string>& v) {
    u(v ? 1 : 0);
    if (v) str(*v);
  }
  void params(const std::vector<Param>& ps) {
    u(ps.size());
    for (const auto& p : ps) {
      str(p.name);
      str(p.value);
    }
  }
  void part(const Part& p) {
    u(p.header_begin);
    u(p.header_end);
    u(p.body_begin);
    u(p.body_end);
    u(p.body_lines);
    u(p.headers.size());
    for (const auto& h : p.headers) {
      u(h.begin);
      u(h.name_len);
      u(h.value_begin);
      u(h.value_end);
      u(h.end);
    }
    str(p.type);
    str(p.subtype);
    str(p.type_as_sent);
    str(p.subtype_as_sent);
    params(p.params);
    u((p.has_content_type ? 1 : 0) | (p.invalid_content_type ? 2 : 0));
    opt(p.id);
    opt(p.description);
    opt(p.encoding);
    opt(p.md5);
    opt(p.location);
    opt(p.disposition);
    params(p.disposition_params);
    u(p.language.size());
    for (const auto& l : p.language) str(l);
    u(static_cast<std::uint64_t>(p.kind));
    u(p.children.size());
    for (const auto& c : p.children) part(c);
  }
};

struct Bad {};

struct In {
  std::string_view s;
  std::size_t i = 0;
  std::uint64_t u() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= s.size()) throw Bad{};
      unsigned char c = static_cast<unsigned char>(s[i++]);
      v |= static_cast<std::uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    throw Bad{};
  }
  std::size_t count(std::size_t max) {
    std::uint64_t n = u();
    if (n > max || n > s.size() - i) throw Bad{};  // every element takes at least one byte
    return static_cast<std::size_t>(n);
  }
  std::string str() {
    std::size_t n = count(s.size());
    std::string v(s.substr(i, n));
    i += n;
    return v;
  }
  std::optional<std::string> opt() {
    if (u()) return str();
    return std::nullopt;
  }
  std::vector<Param> params() {
    std::vector<Param> ps(count(100000));
    for (auto& p : ps) {
      p.name = str();
      p.value = str();
    }
    return ps;
  }
  std::uint64_t size = 0;  // the message size: no offset may pass it
  void part(Part& p, unsigned depth, const Limits& lim, std::uint32_t& parts) {
    if (depth > lim.max_depth || ++parts > lim.max_parts) throw Bad{};
    p.header_begin = u();
    p.header_end = u();
    p.body_begin = u();
    p.body_end = u();
    p.body_lines = u();
    if (!(p.header_begin <= p.header_end && p.header_end <= p.body_begin && p.body_begin <= p.body_end &&
          p.body_end <= size))
      throw Bad{};
    p.headers.resize(count(lim.max_header_fields));
    for (auto& h : p.headers) {
      h.begin = u();
      h.name_len = u();
      h.value_begin = u();
      h.value_end = u();
      h.end = u();
      if (!(h.begin + h.name_len <= h.value_begin && h.value_begin <= h.value_end + 1 && h.value_end <= h.end &&
            h.end <= size))
        throw Bad{};
    }
    p.type = str();
    p.subtype = str();
    p.type_as_sent = str();
    p.subtype_as_sent = str();
    p.params = params();
    std::uint64_t flags = u();
    p.has_content_type = flags & 1;
    p.invalid_content_type = flags & 2;
    p.id = opt();
    p.description = opt();
    p.encoding = opt();
    p.md5 = opt();
    p.location = opt();
    p.disposition = opt();
    p.disposition_params = params();
    p.language.resize(count(10000));
    for (auto& l : p.language) l = str();
    std::uint64_t kind = u();
    if (kind > 2) throw Bad{};
    p.kind = static_cast<PartKind>(kind);
    p.children.resize(count(lim.max_parts));
    for (auto& c : p.children) part(c, depth + 1, lim, parts);
  }
};

}  // namespace

CachedStructure build_cached(std::string_view msg, const Limits& limits) {
  CachedStructure c;
  c.message_size = msg.size();
  c.message = parse(msg, limits);
  c.envelope = envelope(msg, c.message.root);
  c.body_structure = body_structure(msg, c.message.root, true);
  c.body = body_structure(msg, c.message.root, false);
  return c;
}

std::string serialize(const CachedStructure& c) {
  Out o;
  o.u(kCacheVersion);
  o.u(c.message_size);
  o.u(c.message.limit_hit ? 1 : 0);
  o.u(c.message.parts);
  o.str(c.envelope);
  o.str(c.body_structure);
  o.str(c.body);
  o.part(c.message.root);
  return std::move(o.s);
}

std::optional<CachedStructure> deserialize(std::string_view bytes, const Limits& limits) {
  try {
    In in{bytes};
    if (in.u() != kCacheVersion) return std::nullopt;
    CachedStructure c;
    c.message_size = in.size = in.u();
    c.message.limit_hit = in.u() != 0;
    c.message.parts = static_cast<std::uint32_t>(in.u());
    c.envelope = in.str();
    c.body_structure = in.str();
    c.body = in.str();
    std::uint32_t parts = 0;
    in.part(c.message.root, 0, limits, parts);
    if (in.i != bytes.size() || parts != c.message.parts) return std::nullopt;
    return c;
  } catch (const Bad&) {
    return std::nullopt;
  } catch (const std::length_error&) {
    return std::nullopt;
  }
}

}  // namespace tern::mime
