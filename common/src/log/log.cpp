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

Word next_word(std::string_view line, std::size_t from) {
  Word w;
  std::size_t i = from;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i >= line.size()) return w;
  w.begin = i;
  while (i < line.size() && line[i] != ' ') ++i;
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
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %n[%P] %^%l%$: %v");
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
