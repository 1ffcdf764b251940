#include "tern/dkim/canon.hpp"

#include <openssl/evp.h>

#include <memory>

namespace tern::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string_view canon_name(Canon c) { return c == Canon::simple ? "simple" : "relaxed"; }

std::string canon_header(std::string_view raw, Canon c) {
  std::string out;
  if (c == Canon::simple) {  // §3.4.1: unchanged
    out.reserve(raw.size() + 2);
    out.append(raw);
    out.append("\r\n");
    return out;
  }
  // §3.4.2: lowercase the name; unfold; WSP runs → one SP; no WSP at the value's ends
  // or around the colon.
  std::size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  out = lower(name);
  out.push_back(':');
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : raw.substr(colon + 1);
  bool pending_space = false;
  bool started = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char ch = value[i];
    if (ch == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;  // unfold: the CRLF goes, the WSP after it is a WSP run
      continue;
    }
    if (is_wsp(ch)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(ch);
  }
  out.append("\r\n");
  return out;
}

std::uint64_t canon_body(std::string_view body, Canon c,
                         const std::function<void(std::string_view)>& sink,
                         std::optional<std::uint64_t> limit) {
  std::uint64_t total = 0;  // canonical octets so far (unlimited)
  auto emit = [&](std::string_view piece) {
    if (limit && total < *limit) {
      std::uint64_t room = *limit - total;
      sink(piece.size() > room ? piece.substr(0, room) : piece);
    } else if (!limit) {
      sink(piece);
    }
    total += piece.size();
  };
  std::uint64_t pending_empty = 0;  // empty lines seen but not yet emitted (trailing ones go)
  bool any_line = false;
  std::string line;  // relaxed: the reduced line
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t eol = body.find("\r\n", i);
    std::size_t end = eol == std::string_view::npos ? body.size() : eol;
    std::string_view raw = body.substr(i, end - i);
    std::string_view text = raw;
    if (c == Canon::relaxed) {  // §3.4.4: WSP runs → SP, no WSP at line end
      line.clear();
      bool wsp = false;
      for (char ch : raw) {
        if (is_wsp(ch)) {
          wsp = true;
        } else {
          if (wsp) line.push_back(' ');
          wsp = false;
          line.push_back(ch);
        }
      }
      text = line;
    }
    if (text.empty()) {
      ++pending_empty;
    } else {
      for (; pending_empty > 0; --pending_empty) emit("\r\n");
      emit(text);
      emit("\r\n");
      any_line = true;
    }
    if (eol == std::string_view::npos) break;
    i = eol + 2;
  }
  // §3.4.3: the simple canonical form of an empty body is one CRLF; relaxed gives "".
  if (!any_line && c == Canon::simple) emit("\r\n");
  return total;
}

std::string canon_body_string(std::string_view body, Canon c) {
  std::string out;
  canon_body(body, c, [&](std::string_view p) { out.append(p); });
  return out;
}

std::string body_hash_sha256(std::string_view body, Canon c, std::optional<std::uint64_t> limit,
                             std::uint64_t* canon_len) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  // Buffer small pieces so that per-line calls do not dominate.
  std::string buf;
  auto flush = [&] {
    EVP_DigestUpdate(ctx.get(), buf.data(), buf.size());
    buf.clear();
  };
  std::uint64_t n = canon_body(body, c, [&](std::string_view p) {
    buf.append(p);
    if (buf.size() >= 16384) flush();
  }, limit);
  flush();
  if (canon_len) *canon_len = n;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string signed_header_data(const SplitMessage& msg, const std::vector<std::string>& h, Canon c) {
  std::vector<bool> used(msg.headers.size(), false);
  std::string out;
  for (const std::string& name : h) {
    for (std::size_t k = msg.headers.size(); k-- > 0;) {
      if (!used[k] && iequals(msg.headers[k].name, name)) {
        used[k] = true;
        out.append(canon_header(msg.headers[k].raw, c));
        break;
      }
    }
  }
  return out;
}

}  // namespace tern::dkim
