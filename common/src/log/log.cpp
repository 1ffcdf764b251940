#include "tern/log/log.hpp"

#include "tern/config/config.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <random>

namespace tern::log {

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

// Splits off the next space-separated word of `rest`; returns its [begin, end) offsets in `line`.
struct Word {
  std::size_t begin = std::string_view::npos, end = std::string_view::npos;
  bool found() const { return begin != std::string_view::npos; }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n'; }

Word next_word(std::string_view line, std::size_t from) {
  Word w;
  std::size_t i = from;
  while (i < line.size() && is_space(line[i])) ++i;
  if (i >= line.size()) return w;
  w.begin = i;
  while (i < line.size() && !is_space(line[i])) ++i;
  w.end = i;
  return w;
}

std::string view(std::string_view line, Word w) {
  return std::string(line.substr(w.begin, w.end - w.begin));
}

// Replace everything from offset `at` to the end of line with the mask.
std::string mask_from(std::string_view line, std::size_t at) {
  std::string r(line.substr(0, at));
  r += masked;
  return r;
}

}  // namespace

bool parse_level(std::string_view name, spdlog::level::level_enum& out) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (auto& [n, l] : kLevels) {
    if (iequals(n, name)) {
      out = l;
      return true;
    }
  }
  return false;
}

void init(std::string_view level, std::string_view daemon) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(daemon), sink);
  // Pattern: time, daemon[pid], level, message. %n = logger name, %P = pid.
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e%z %n[%P] %^%l%$: %v");
  spdlog::level::level_enum lvl = spdlog::level::info;
  parse_level(level, lvl);  // the config parser already rejected unknown names
  logger->set_level(lvl);
  // Warnings and errors reach stderr at once even when it is a pipe to a supervisor.
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

void init(const config::Config& cfg, std::string_view daemon) { init(cfg.log.level, daemon); }

std::string next_id() {
  static const std::uint64_t base = [] {
    std::random_device rd;
    return (std::uint64_t(rd()) << 32 | rd()) & 0xFFFFFF0000ull;
  }();
  static std::atomic<std::uint64_t> counter{0};
  std::uint64_t n = (base + counter.fetch_add(1, std::memory_order_relaxed)) & 0xFFFFFFFFFFull;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010llX", static_cast<unsigned long long>(n));
  return buf;
}

std::string escape(std::string_view v, std::size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string r;
  r.reserve(std::min(v.size(), max) + 8);
  auto esc = [&](unsigned char b) {
    r += "\\x";
    r += hex[b >> 4];
    r += hex[b & 15];
  };
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  const std::size_t n = std::min(v.size(), max);
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7f) {
      if (c == '\\') r += "\\\\";
      else r += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c < 0x80) {  // C0 controls and DEL
      esc(c);
      ++i;
      continue;
    }
    // UTF-8 (RFC 3629 §4): the length from the lead byte, continuation bytes 10xxxxxx,
    // no overlong forms, no surrogates, nothing above U+10FFFF.
    std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len != 0 && i + len <= v.size();
    std::uint32_t cp = 0;
    if (ok) {
      cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
      for (std::size_t k = 1; k < len && ok; ++k) {
        if ((p[i + k] & 0xc0) != 0x80) ok = false;
        cp = cp << 6 | (p[i + k] & 0x3f);
      }
    }
    if (ok) {
      if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        ok = false;
    }
    // C1 controls, U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR, U+0085 NEL.
    if (ok && ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)) ok = false;
    if (!ok) {
      if (len == 0 || i + len > v.size()) len = 1;
      else if (len > 1) {
        // A well-formed but refused character: escape all its bytes; a malformed one:
        // only the lead byte (the rest is looked at again).
        bool wellformed = true;
        for (std::size_t k = 1; k < len; ++k) wellformed = wellformed && (p[i + k] & 0xc0) == 0x80;
        if (!wellformed) len = 1;
      }
      for (std::size_t k = 0; k < len; ++k) esc(p[i + k]);
      i += len;
      continue;
    }
    r.append(v.substr(i, len));
    i += len;
  }
  if (v.size() > max) r += "...";
  return r;
}

std::string mask_auth(std::string_view line) {
  Word w1 = next_word(line, 0);
  if (!w1.found()) return std::string(line);
  std::string v1 = lower(view(line, w1));
  // SMTP AUTH (RFC 4954 §4) and POP3 AUTH (RFC 5034 §4): "AUTH mech [initial-response]".
  if (v1 == "auth") {
    Word mech = next_word(line, w1.end);
    if (!mech.found()) return std::string(line);
    Word ir = next_word(line, mech.end);
    return ir.found() ? mask_from(line, ir.begin) : std::string(line);
  }
  // POP3 PASS (RFC 1939 §7): the whole rest of the line is the password, spaces included.
  if (v1 == "pass") {
    Word pw = next_word(line, w1.end);
    return pw.found() ? mask_from(line, pw.begin) : std::string(line);
  }
  // POP3 APOP name digest (RFC 1939 §7): the digest is a credential too.
  if (v1 == "apop") {
    Word name = next_word(line, w1.end);
    if (!name.found()) return std::string(line);
    Word digest = next_word(line, name.end);
    return digest.found() ? mask_from(line, digest.begin) : std::string(line);
  }
  // IMAP: "<tag> LOGIN user pass" (RFC 9051 §6.2.3), "<tag> AUTHENTICATE mech [ir]" (§6.2.2).
  Word w2 = next_word(line, w1.end);
  if (!w2.found()) return std::string(line);
  std::string v2 = lower(view(line, w2));
  if (v2 == "login") {
    // The user name may be a quoted string or a literal; mask everything after the verb
    // except a plain atom user name.
    Word user = next_word(line, w2.end);
    if (!user.found()) return std::string(line);
    char c = line[user.begin];
    if (c == '"' || c == '{') return mask_from(line, user.begin);
    Word pw = next_word(line, user.end);
    return pw.found() ? mask_from(line, pw.begin) : std::string(line);
  }
  if (v2 == "authenticate") {
    Word mech = next_word(line, w2.end);
    if (!mech.found()) return std::string(line);
    Word ir = next_word(line, mech.end);
    return ir.found() ? mask_from(line, ir.begin) : std::string(line);
  }
  return std::string(line);
}

}  // namespace tern::log
