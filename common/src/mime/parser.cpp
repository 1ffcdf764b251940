// MIME structure (RFC 2045, RFC 2046 5.1 multipart, 5.2.1 message/rfc822), one pass over
// the lines with a stack of the active boundaries, innermost first, as Dovecot does: a
// boundary line of any enclosing multipart ends every part inside it, so a part with a
// missing close delimiter cannot swallow its parent's parts. Each line is looked at once
// per active boundary at most (only lines starting with "--"), so a message costs
// O(size + dash-lines × depth), bounded by the depth limit.
#include <algorithm>
#include <cstring>

#include "mime_internal.hpp"
#include "tern/mime/message.hpp"

namespace tern::mime {

namespace {

struct BoundaryHit {
  int index = -1;      // index into the boundary stack, -1 = not a boundary line
  bool close = false;  // "--boundary--"
  std::size_t next = 0;  // start of the line after it
};

struct Ctx {
  std::string_view msg;
  Limits limits;
  std::vector<std::string> bounds;  // active boundaries; back() is the innermost
  std::uint32_t parts = 0;
  bool limit_hit = false;

  // Is the line at pos a boundary line of one of the active multiparts (innermost
  // first)? Prefix match of "--" boundary, as Dovecot and most readers do (RFC 2046
  // says a boundary must not appear as a prefix of a line inside the part).
  BoundaryHit boundary_at(std::size_t pos) const {
    BoundaryHit hit;
    if (bounds.empty() || pos + 2 > msg.size() || msg[pos] != '-' || msg[pos + 1] != '-') return hit;
    for (int i = static_cast<int>(bounds.size()) - 1; i >= 0; --i) {
      const std::string& b = bounds[static_cast<std::size_t>(i)];
      if (pos + 2 + b.size() > msg.size()) continue;
      if (std::memcmp(msg.data() + pos + 2, b.data(), b.size()) != 0) continue;
      hit.index = i;
      std::size_t after = pos + 2 + b.size();
      hit.close = after + 2 <= msg.size() && msg[after] == '-' && msg[after + 1] == '-';
      hit.next = detail::line_end(msg, pos, msg.size());
      return hit;
    }
    return hit;
  }

  // End of content before a boundary line at `line`: minus the line break preceding it
  // (RFC 2046 5.1.1), but never before `floor`.
  std::size_t before_boundary(std::size_t line, std::size_t floor, const BoundaryHit& hit) const {
    std::size_t e = line;
    if (hit.index < 0) return e;  // the end of the message: nothing belongs to a boundary
    if (e > floor && msg[e - 1] == '\n') {
      --e;
      if (e > floor && msg[e - 1] == '\r') --e;
    }
    return e;
  }

  // Scans lines from pos until a line that is an active boundary; returns its start
  // (or msg.size()) and the hit.
  std::size_t scan_to_boundary(std::size_t pos, BoundaryHit& hit) const {
    std::size_t n = msg.size();
    if (bounds.empty()) {
      hit = {};
      return n;
    }
    while (pos < n) {
      if (msg[pos] == '-') {
        hit = boundary_at(pos);
        if (hit.index >= 0) return pos;
      }
      const void* p = std::memchr(msg.data() + pos, '\n', n - pos);
      if (!p) break;
      pos = static_cast<std::size_t>(static_cast<const char*>(p) - msg.data()) + 1;
    }
    hit = {};
    return n;
  }

  std::uint64_t count_lines(std::size_t b, std::size_t e) const {
    return static_cast<std::uint64_t>(std::count(msg.data() + b, msg.data() + e, '\n'));
  }

  void read_content_fields(Part& p, bool digest_child) {
    for (const auto& f : p.headers) {
      std::string_view name = f.name(msg);
      if (name.size() < 8 || !iequals(name.substr(0, 8), "content-")) continue;
      std::string_view rest = name.substr(8);
      std::string_view v = f.raw_value(msg);
      if (iequals(rest, "type")) {
        if (p.has_content_type) continue;  // the first one counts
        p.has_content_type = true;
        std::string t, s;
        std::vector<Param> params;
        std::string ts, ss;
        if (detail::parse_content_type(v, t, s, params, &ts, &ss)) {
          p.type = std::move(t);
          p.subtype = std::move(s);
          p.type_as_sent = std::move(ts);
          p.subtype_as_sent = std::move(ss);
        } else {
          // Note: RFC 2045 5.2 recommends text/plain for an invalid Content-Type; Dovecot
          // shows the broken value instead. We follow the RFC (clients then show text).
          p.invalid_content_type = true;
        }
        p.params = std::move(params);
      } else if (iequals(rest, "transfer-encoding")) {
        if (!p.encoding) p.encoding = detail::parse_simple_token(v);
      } else if (iequals(rest, "id")) {
        if (!p.id) p.id = unfold(v);
      } else if (iequals(rest, "description")) {
        if (!p.description) p.description = unfold(v);
      } else if (iequals(rest, "md5")) {
        if (!p.md5) p.md5 = unfold(v);
      } else if (iequals(rest, "location")) {
        if (!p.location) p.location = unfold(v);
      } else if (iequals(rest, "disposition")) {
        if (p.disposition) continue;
        std::string d;
        std::vector<Param> params;
        if (detail::parse_disposition(v, d, params)) {
          p.disposition = std::move(d);
          p.disposition_params = std::move(params);
        }
      } else if (iequals(rest, "language")) {
        if (p.language.empty()) p.language = detail::parse_language(v);
      }
    }
    if (!p.has_content_type && digest_child) {  // RFC 2046 5.1.5
      p.type = p.type_as_sent = "message";
      p.subtype = p.subtype_as_sent = "rfc822";
    }
  }

  // Parses the entity starting at pos. Returns the start of the boundary line that
  // ended it (hit describes it) or msg.size().
  std::size_t entity(Part& p, std::size_t pos, unsigned depth, bool digest_child, BoundaryHit& hit) {
    ++parts;
    p.header_begin = pos;
    p.headers = detail::parse_header_until(
        msg, pos, msg.size(), [this](std::size_t at) { return boundary_at(at).index >= 0; },
        limits.max_header_fields, &p.header_end, &p.body_begin);
    read_content_fields(p, digest_child);
    std::size_t floor = p.body_begin;

    bool multipart = p.type == "multipart";
    bool message = p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
    const std::string* boundary = multipart ? p.param("boundary") : nullptr;
    if ((multipart || message) && (depth + 1 >= limits.max_depth || parts >= limits.max_parts)) {
      limit_hit = true;
      multipart = message = false;
    }
    if (multipart && (!boundary || boundary->empty())) {
      // No boundary: a multipart without parts (its bytes stay in its body).
      p.kind = PartKind::multipart;
      std::size_t stop = scan_to_boundary(p.body_begin, hit);
      p.body_end = before_boundary(stop, floor, hit);
      p.body_lines = count_lines(p.body_begin, p.body_end);
      return stop;
    }

    if (message) {
      p.kind = PartKind::message;
      p.children.resize(1);
      std::size_t stop = entity(p.children[0], p.body_begin, depth + 1, false, hit);
      // The embedded message decides where the content ends: a line break consumed by
      // its header or its close delimiter is not given back to the boundary (Dovecot).
      p.body_end = p.children[0].body_end;
      p.body_lines = count_lines(p.body_begin, p.body_end);
      return stop;
    }
    if (!multipart) {
      std::size_t stop = scan_to_boundary(p.body_begin, hit);
      p.body_end = before_boundary(stop, floor, hit);
      p.body_lines = count_lines(p.body_begin, p.body_end);
      return stop;
    }

    p.kind = PartKind::multipart;
    bool digest = p.subtype == "digest";
    bounds.push_back(*boundary);
    const int own = static_cast<int>(bounds.size()) - 1;
    std::size_t cur = p.body_begin;
    std::size_t stop = scan_to_boundary(cur, hit);  // end of the preamble
    while (hit.index == own && !hit.close) {
      if (parts >= limits.max_parts) {
        limit_hit = true;  // further parts stay in the multipart's body, unindexed
        stop = scan_to_boundary(hit.next, hit);
        continue;
      }
      p.children.emplace_back();
      stop = entity(p.children.back(), hit.next, depth + 1, digest, hit);
    }
    bounds.pop_back();
    if (hit.index == own && hit.close) {
      // The epilogue: up to an enclosing boundary or the end. The close delimiter's own
      // line break is not the one "preceding" the next boundary.
      floor = hit.next;
      stop = scan_to_boundary(hit.next, hit);
    }
    p.body_end = before_boundary(stop, floor, hit);
    p.body_lines = count_lines(p.body_begin, p.body_end);
    return stop;
  }
};

}  // namespace

Message parse(std::string_view msg, const Limits& limits) {
  Ctx ctx{msg, limits, {}, 0, false};
  Message m;
  BoundaryHit hit;
  ctx.entity(m.root, 0, 0, false, hit);
  m.limit_hit = ctx.limit_hit;
  m.parts = ctx.parts;
  return m;
}

}  // namespace tern::mime
