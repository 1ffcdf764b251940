// parse_config(): TOML text -> Config (design §4). Pure apart from making data_dir absolute
// against the current directory. Every error is a ConfigError "file:line: [table] key: why".
#include "tern/config/config.hpp"

#include "tern/log/log.hpp"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <charconv>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace tern::config {

namespace {

using namespace std::string_view_literals;

std::string qstr(std::string_view s) {
  std::string r = "\"";
  for (char c : s) r += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  r += '"';
  return r;
}

// Where a value sits: for the "file:line: [table] key: " prefix.
struct Where {
  std::string_view source;
  std::string_view table;  // "" = top level
  std::string key;         // "" = the table itself
  std::uint32_t line = 0;  // 0 = unknown

  [[noreturn]] void fail(std::string_view why) const {
    std::string m(source);
    if (line) m += ":" + std::to_string(line);
    m += ": ";
    if (!table.empty()) {
      m += "[" + std::string(table) + "]";
      m += key.empty() ? ":" : " ";
    }
    if (!key.empty()) m += key + ":";
    m += " ";
    m += why;
    throw ConfigError(m);
  }
};

std::uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

std::string get_string(const toml::node& n, const Where& w) {
  if (auto s = n.as_string()) return s->get();
  w.fail("expected a string");
}

bool get_bool(const toml::node& n, const Where& w) {
  if (auto b = n.as_boolean()) return b->get();
  w.fail("expected true or false");
}

std::uint64_t get_uint(const toml::node& n, const Where& w, std::uint64_t min, std::uint64_t max) {
  auto i = n.as_integer();
  if (!i) w.fail("expected an integer");
  std::int64_t v = i->get();
  if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max)
    w.fail(std::to_string(v) + " is out of range (" + std::to_string(min) + " to " +
           std::to_string(max) + ")");
  return static_cast<std::uint64_t>(v);
}

std::string size_text(std::uint64_t n) {
  if (n && n % (1ull << 30) == 0) return std::to_string(n >> 30) + "G";
  if (n && n % (1ull << 20) == 0) return std::to_string(n >> 20) + "M";
  if (n && n % (1ull << 10) == 0) return std::to_string(n >> 10) + "K";
  return std::to_string(n);
}

std::string duration_text(std::chrono::seconds d) {
  auto s = static_cast<std::uint64_t>(d.count());
  if (s && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

// A size: "50M" or an integer number of bytes.
std::uint64_t get_size(const toml::node& n, const Where& w, std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  std::string shown;
  if (auto s = n.as_string()) {
    try {
      v = parse_size(s->get());
    } catch (const ConfigError& e) {
      w.fail(e.what());
    }
    shown = qstr(s->get());
  } else if (auto i = n.as_integer()) {
    if (i->get() < 0) w.fail("bad size " + std::to_string(i->get()) + " (use K, M or G)");
    v = static_cast<std::uint64_t>(i->get());
    shown = std::to_string(v);
  } else {
    w.fail("expected a size like \"50M\"");
  }
  if (v < min || v > max)
    w.fail(shown + " is out of range (" + size_text(min) + " to " + size_text(max) + ")");
  return v;
}

// A duration: "5m" or an integer number of seconds.
std::chrono::seconds get_duration(const toml::node& n, const Where& w, std::chrono::seconds min,
                                  std::chrono::seconds max) {
  std::chrono::seconds v{};
  std::string shown;
  if (auto s = n.as_string()) {
    try {
      v = parse_duration(s->get());
    } catch (const ConfigError& e) {
      w.fail(e.what());
    }
    shown = qstr(s->get());
  } else if (auto i = n.as_integer()) {
    if (i->get() < 0 || i->get() > (std::int64_t(1) << 40))
      w.fail("bad duration " + std::to_string(i->get()) + " (use s, m, h or d, e.g. \"30s\")");
    v = std::chrono::seconds(i->get());
    shown = std::to_string(i->get());
  } else {
    w.fail("expected a duration like \"30s\"");
  }
  if (v < min || v > max)
    w.fail(shown + " is out of range (" + duration_text(min) + " to " + duration_text(max) + ")");
  return v;
}

// A list of strings; a single string is taken as a list of one.
std::vector<std::pair<std::string, std::uint32_t>> get_strings(const toml::node& n, const Where& w) {
  std::vector<std::pair<std::string, std::uint32_t>> r;
  if (auto s = n.as_string()) {
    r.emplace_back(s->get(), line_of(n));
    return r;
  }
  auto a = n.as_array();
  if (!a) w.fail("expected a list of strings");
  for (auto& e : *a) {
    auto s = e.as_string();
    if (!s) {
      Where we = w;
      if (line_of(e)) we.line = line_of(e);
      we.fail("expected a list of strings");
    }
    r.emplace_back(s->get(), line_of(e) ? line_of(e) : w.line);
  }
  return r;
}

std::vector<Endpoint> get_endpoints(const toml::node& n, const Where& w, bool default_port_53) {
  std::vector<Endpoint> r;
  for (auto& [text, line] : get_strings(n, w)) {
    Where we = w;
    we.line = line;
    try {
      if (default_port_53) {
        // [dns] servers: a bare IP literal means port 53.
        in_addr a4{};
        in6_addr a6{};
        if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
          r.push_back(parse_endpoint(text + ":53"));
          continue;
        }
        if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
          r.push_back(parse_endpoint("[" + text + "]:53"));
          continue;
        }
      }
      r.push_back(parse_endpoint(text));
    } catch (const ConfigError& e) {
      we.fail(e.what());
    }
    if (default_port_53 && r.back().port == 0) we.fail("bad address " + qstr(text) + " (port 0)");
  }
  return r;
}

bool valid_hostname(std::string_view h) {
  // RFC 1035 §2.3.1 / RFC 1123 §2.1: labels of letters, digits and hyphens, 1-63 octets,
  // not starting or ending with a hyphen; 253 octets in all.
  if (h.empty() || h.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (char c : h) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return prev != '.' && prev != '-';
}

bool valid_user(std::string_view u) {
  if (u.empty() || u.size() > 32) return false;
  for (std::size_t i = 0; i < u.size(); ++i) {
    char c = u[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
    if (!ok) return false;
  }
  return true;
}

bool valid_cidr(const std::string& s) {
  auto slash = s.find('/');
  std::string ip = s.substr(0, slash);
  in_addr a4{};
  in6_addr a6{};
  unsigned max_prefix = 0;
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1) max_prefix = 32;
  else if (inet_pton(AF_INET6, ip.c_str(), &a6) == 1) max_prefix = 128;
  else return false;
  if (slash == std::string::npos) return true;
  std::string_view pfx = std::string_view(s).substr(slash + 1);
  unsigned p = 0;
  if (pfx.empty() || pfx.size() > 3) return false;
  for (char c : pfx)
    if (c < '0' || c > '9') return false;
  std::from_chars(pfx.data(), pfx.data() + pfx.size(), p);
  return p <= max_prefix;
}

// "smtp.example.net:587" or "[2001:db8::1]:587"
bool valid_relay_host(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    try {
      return parse_endpoint(s).port != 0;
    } catch (const ConfigError&) {
      return false;
    }
  }
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return false;
  auto host = s.substr(0, colon), port = s.substr(colon + 1);
  if (!valid_hostname(host) || port.empty() || port.size() > 5) return false;
  unsigned p = 0;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  std::from_chars(port.data(), port.data() + port.size(), p);
  return p >= 1 && p <= 65535;
}

// One table's keys: name -> handler. Unknown keys are errors.
using Handler = std::function<void(const toml::node&, const Where&)>;
struct Field {
  std::string_view name;
  Handler handle;
};

void apply(const toml::table& t, std::string_view source, std::string_view table_name,
           const std::vector<Field>& fields) {
  for (auto&& [k, v] : t) {
    Where w{source, table_name, std::string(k.str()), k.source().begin.line};
    if (!w.line) w.line = line_of(v);
    bool known = false;
    for (auto& f : fields) {
      if (f.name == k.str()) {
        f.handle(v, w);
        known = true;
        break;
      }
    }
    if (!known) w.fail("unknown key");
  }
}

const toml::table& as_table(const toml::node& n, const Where& w) {
  if (auto t = n.as_table()) return *t;
  Where wt{w.source, {}, std::string(w.key), w.line};
  wt.fail("expected a table, e.g. [" + w.key + "]");
}

template <typename T>
Handler set_uint(T& field, std::uint64_t min, std::uint64_t max) {
  return [&field, min, max](const toml::node& n, const Where& w) {
    field = static_cast<T>(get_uint(n, w, min, max));
  };
}

Handler set_duration(std::chrono::seconds& field, std::chrono::seconds min,
                     std::chrono::seconds max) {
  return [&field, min, max](const toml::node& n, const Where& w) {
    field = get_duration(n, w, min, max);
  };
}

Handler set_bool(bool& field) {
  return [&field](const toml::node& n, const Where& w) { field = get_bool(n, w); };
}

Handler set_string(std::string& field) {
  return [&field](const toml::node& n, const Where& w) { field = get_string(n, w); };
}

Handler set_listen(Listener& l) {
  return [&l](const toml::node& n, const Where& w) { l.listen = get_endpoints(n, w, false); };
}

using namespace std::chrono_literals;

Handler set_action(CheckAction& field) {
  return [&field](const toml::node& n, const Where& w) {
    std::string v = get_string(n, w);
    if (v == "accept") field = CheckAction::accept;
    else if (v == "junk") field = CheckAction::junk;
    else if (v == "reject") field = CheckAction::reject;
    else w.fail("bad action " + qstr(v) + " (use accept, junk or reject)");
  };
}

std::vector<Field> policy_fields(CheckPolicy& p) {
  return {{"dmarc_reject", set_action(p.dmarc_reject)},
          {"dmarc_quarantine", set_action(p.dmarc_quarantine)},
          {"spf_fail", set_action(p.spf_fail)}};
}

}  // namespace

std::string_view check_action_name(CheckAction a) {
  switch (a) {
    case CheckAction::accept: return "accept";
    case CheckAction::junk: return "junk";
    case CheckAction::reject: return "reject";
  }
  return "accept";
}

const CheckPolicy& ChecksConfig::policy_for(std::string_view domain) const {
  for (const auto& [d, p] : domains)
    if (d == domain) return p;
  return policy;
}

Config parse_config(std::string_view text, std::string_view source) {
  Config c;
  c.source = std::string(source);
  // Listeners are off unless the file lists addresses (the embedded default lists them all).
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::string m(source);
    if (e.source().begin.line) m += ":" + std::to_string(e.source().begin.line);
    m += ": TOML syntax: ";
    m += e.description();
    throw ConfigError(m);
  }

  // Line of each table, for errors about a table as a whole.
  std::uint32_t tls_line = 0, relay_line = 0;
  auto sub = [&](std::string_view name, std::vector<Field> fields,
                 std::uint32_t* line_out = nullptr) -> Field {
    return Field{name, [name, fields = std::move(fields), source, line_out](
                           const toml::node& n, const Where& w) {
                   const toml::table& t = as_table(n, w);
                   if (line_out) *line_out = w.line;
                   apply(t, source, name, fields);
                 }};
  };

  std::vector<Field> top = {
      {"hostname",
       [&](const toml::node& n, const Where& w) {
         c.hostname = get_string(n, w);
         if (!valid_hostname(c.hostname)) w.fail("bad hostname " + qstr(c.hostname));
       }},
      {"data_dir",
       [&](const toml::node& n, const Where& w) {
         std::string d = get_string(n, w);
         if (d.empty()) w.fail("must not be empty");
         if (d.find('\0') != std::string::npos) w.fail("bad path");
         c.data_dir = d;
       }},
      {"user",
       [&](const toml::node& n, const Where& w) {
         c.user = get_string(n, w);
         if (!valid_user(c.user)) w.fail("bad user name " + qstr(c.user));
       }},
      sub("tls", {{"cert", set_string(c.tls.cert)}, {"key", set_string(c.tls.key)}}, &tls_line),
      sub("smtp",
          {{"listen", set_listen(c.smtp.smtp)},
           {"auth", set_bool(c.smtp.smtp.auth)},
           {"check_header_from", set_bool(c.smtp.check_header_from)},
           {"trusted_networks",
            [&](const toml::node& n, const Where& w) {
              c.smtp.trusted_networks.clear();
              for (auto& [net, line] : get_strings(n, w)) {
                if (!valid_cidr(net)) {
                  Where we = w;
                  we.line = line;
                  we.fail("bad network " + qstr(net) + " (use CIDR, e.g. \"10.0.0.0/8\")");
                }
                c.smtp.trusted_networks.push_back(net);
              }
            }}}),
      sub("submission", {{"listen", set_listen(c.smtp.submission)}}),
      sub("submissions", {{"listen", set_listen(c.smtp.submissions)}}),
      sub("imap",
          {{"listen", set_listen(c.imap.plain)},
           {"allow_plaintext_auth", set_bool(c.imap.allow_plaintext_auth)},
           {"command_line",
            [&](const toml::node& n, const Where& w) {
              c.imap.command_line = get_size(n, w, 8192, 16ull << 20);
            }},
           {"nesting", set_uint(c.imap.nesting, 4, 1000)},
           {"sequence_ranges", set_uint(c.imap.sequence_ranges, 100, 10000000)},
           {"idle_timeout", set_duration(c.imap.idle_timeout, 1800s, 86400s)},
           {"login_timeout", set_duration(c.imap.login_timeout, 10s, 3600s)},
           {"view_cache_messages", set_uint(c.imap.view_cache_messages, 1, 100000000)},
           {"view_cache_size",
            [&](const toml::node& n, const Where& w) {
              c.imap.view_cache_size = get_size(n, w, 0, 64ull << 30);
            }}}),
      sub("imaps", {{"listen", set_listen(c.imap.implicit_tls)}}),
      sub("pop3",
          {{"listen", set_listen(c.pop3.plain)},
           {"allow_plaintext_auth", set_bool(c.pop3.allow_plaintext_auth)},
           // RFC 2449 §6.7 EXPIRE: days the server keeps a retrieved message.
           {"expire",
            [&](const toml::node& n, const Where& w) {
              c.pop3.expire_days = static_cast<unsigned>(get_uint(n, w, 0, 36500));
            }},
           // RFC 2449 §6.8 LOGIN-DELAY: seconds between logins.
           {"login_delay",
            [&](const toml::node& n, const Where& w) {
              c.pop3.login_delay_secs =
                  static_cast<unsigned>(get_duration(n, w, 0s, 86400s).count());
            }}}),
      sub("pop3s", {{"listen", set_listen(c.pop3.implicit_tls)}}),
      sub("web", {{"listen", set_listen(c.web)},
                  {"tls", set_bool(c.web.tls)},
                  {"session_idle", set_duration(c.web.session_idle, 60s, 30 * 86400s)},
                  {"session_lifetime", set_duration(c.web.session_lifetime, 60s, 365 * 86400s)},
                  {"max_body",
                   [&](const toml::node& n, const Where& w) {
                     c.web.max_body = get_size(n, w, 4ull << 10, 1ull << 30);
                   }}}),
      sub("dns", {{"servers",
                   [&](const toml::node& n, const Where& w) {
                     c.dns.servers = get_endpoints(n, w, true);
                   }},
                  {"timeout", set_duration(c.dns.timeout, 1s, 60s)}}),
      sub("outbound",
          {{"enabled", set_bool(c.outbound.enabled)},
           {"port", set_uint(c.outbound.port, 1, 65535)},
           {"tls",
            [&](const toml::node& n, const Where& w) {
              c.outbound.tls = get_string(n, w);
              if (c.outbound.tls != "may" && c.outbound.tls != "verify")
                w.fail("must be \"may\" or \"verify\", not " + qstr(c.outbound.tls));
            }},
           {"ca_file", set_string(c.outbound.ca_file)},
           {"connections", set_uint(c.outbound.connections, 1, 10000)},
           {"connections_per_destination", set_uint(c.outbound.connections_per_destination, 1, 1000)},
           {"retry_min", set_duration(c.outbound.retry_min, 1s, 86400s)},
           {"retry_max", set_duration(c.outbound.retry_max, 1s, 7 * 86400s)},
           {"max_age", set_duration(c.outbound.max_age, 1s, 60 * 86400s)},
           {"delay_notice", set_duration(c.outbound.delay_notice, 0s, 60 * 86400s)}}),
      sub("relay",
          {{"host",
            [&](const toml::node& n, const Where& w) {
              c.relay.host = get_string(n, w);
              if (!c.relay.host.empty() && !valid_relay_host(c.relay.host))
                w.fail("bad relay host " + qstr(c.relay.host) +
                       " (use \"smtp.example.net:587\")");
            }},
           {"username", set_string(c.relay.username)},
           {"password_file", set_string(c.relay.password_file)},
           {"tls",
            [&](const toml::node& n, const Where& w) {
              c.relay.tls = get_string(n, w);
              if (c.relay.tls != "auto" && c.relay.tls != "starttls" && c.relay.tls != "implicit")
                w.fail("must be \"auto\", \"starttls\" or \"implicit\", not " + qstr(c.relay.tls));
            }}},
          &relay_line),
      sub("limits",
          {{"message_size",
            [&](const toml::node& n, const Where& w) {
              c.limits.message_size = get_size(n, w, 1ull << 10, 4ull << 30);
            }},
           {"recipients", set_uint(c.limits.recipients, 1, 100000)},
           {"connections", set_uint(c.limits.connections, 1, 1000000)},
           {"connections_per_ip", set_uint(c.limits.connections_per_ip, 1, 1000000)},
           {"command_timeout", set_duration(c.limits.command_timeout, 1s, 86400s)},
           {"data_timeout", set_duration(c.limits.data_timeout, 1s, 86400s)},
           {"session_timeout", set_duration(c.limits.session_timeout, 1s, 7 * 86400s)},
           {"error_limit", set_uint(c.limits.error_limit, 1, 100000)},
           {"junk_limit", set_uint(c.limits.junk_limit, 0, 1000000)},
           {"auth_failures", set_uint(c.limits.auth_failures, 1, 100000)},
           {"ipv6_prefix", set_uint(c.limits.ipv6_prefix, 32, 128)},
           // RFC 5321 §4.5.3.1.4 / §4.5.3.1.6: these are minimums a server must accept.
           {"command_line", set_uint(c.limits.command_line, 512, 65536)},
           {"text_line", set_uint(c.limits.text_line, 1000, 1 << 20)}}),
      sub("log", {{"level",
                   [&](const toml::node& n, const Where& w) {
                     std::string l = get_string(n, w);
                     spdlog::level::level_enum lvl;
                     if (!log::parse_level(l, lvl))
                       w.fail("bad level " + qstr(l) +
                              " (use trace, debug, info, warn, error or off)");
                     c.log.level = l;
                   }}}),
      sub("auth",
          {{"cache_ttl", set_duration(c.auth.cache_ttl, 0s, 30 * 86400s)},
           {"cache_size", set_uint(c.auth.cache_size, 0, 10000000)},
           {"account_failures", set_uint(c.auth.account_failures, 1, 100000)},
           {"failure_delay", set_duration(c.auth.failure_delay, 0s, 60s)},
           {"password_min_length", set_uint(c.auth.password_min_length, 1, 1024)}}),
      {"checks",
       [&](const toml::node& n, const Where& w) {
         const toml::table& t = as_table(n, w);
         std::vector<Field> f = policy_fields(c.checks.policy);
         f.push_back({"enabled", set_bool(c.checks.enabled)});
         f.push_back({"authserv_id",
                      [&](const toml::node& v, const Where& wv) {
                        c.checks.authserv_id = get_string(v, wv);
                        if (!c.checks.authserv_id.empty() && !valid_hostname(c.checks.authserv_id))
                          wv.fail("bad authserv_id " + qstr(c.checks.authserv_id) + " (a host name)");
                      }});
         f.push_back({"timeout", set_duration(c.checks.timeout, 1s, 600s)});
         // [checks.domain."example.com"]: the same three actions for one recipient domain,
         // starting from the [checks] defaults (so they are read after the other keys).
         const toml::node* domain_node = nullptr;
         Where domain_where{};
         f.push_back({"domain", [&](const toml::node& v, const Where& wv) {
                        domain_node = &v;
                        domain_where = wv;
                      }});
         apply(t, source, "checks", f);
         if (domain_node) {
           [&](const toml::node& v, const Where& wv) {
                        const toml::table& doms = as_table(v, wv);
                        for (auto&& [dk, dv] : doms) {
                          std::string d(dk.str());
                          for (char& ch : d)
                            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
                          Where wd{source, "checks.domain", d, dk.source().begin.line};
                          if (!valid_hostname(d)) wd.fail("bad domain");
                          c.checks.domains.emplace_back(d, c.checks.policy);
                          auto& pol = c.checks.domains.back().second;
                          apply(as_table(dv, wd), source, "checks.domain", policy_fields(pol));
                        }
           }(*domain_node, domain_where);
         }
       }},
      sub("store", {{"events_retention",
                     set_duration(c.store.events_retention, 3600s, 3650 * 86400s)},
                    {"events_flush", set_duration(c.store.events_flush, 1s, 60s)},
                    {"events_per_ip", set_uint(c.store.events_per_ip, 0, 1000000)}}),
  };
  apply(root, source, {}, top);

  // Cross-key checks.
  if (c.tls.cert.empty() != c.tls.key.empty())
    Where{source, "tls", c.tls.cert.empty() ? "cert" : "key", tls_line}.fail(
        "cert and key must be given together");
  if (!c.relay.username.empty() && c.relay.password_file.empty())
    Where{source, "relay", "password_file", relay_line}.fail("needed when username is set");

  // One address may be bound by one listener only (port 0 = ephemeral, never a clash).
  struct Named {
    std::string_view table;
    const Listener* l;
  };
  const Named listeners[] = {{"smtp", &c.smtp.smtp},        {"submission", &c.smtp.submission},
                             {"submissions", &c.smtp.submissions}, {"imap", &c.imap.plain},
                             {"imaps", &c.imap.implicit_tls}, {"pop3", &c.pop3.plain},
                             {"pop3s", &c.pop3.implicit_tls}, {"web", &c.web}};
  std::set<std::string> seen;
  for (auto& [table, l] : listeners) {
    for (auto& ep : l->listen) {
      if (ep.port == 0) continue;
      if (!seen.insert(ep.text()).second) {
        std::uint32_t line = 0;
        if (auto node = root[table]["listen"].node()) line = line_of(*node);
        Where{source, table, "listen", line}.fail(ep.text() + " is used by another listener");
      }
    }
  }

  // design §4: data_dir relative to the current directory, made absolute at load.
  std::error_code ec;
  auto abs = std::filesystem::absolute(c.data_dir, ec);
  if (ec) throw ConfigError(std::string(source) + ": data_dir: " + ec.message());
  c.data_dir = abs.lexically_normal();
  return c;
}

Config load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": cannot read: " + std::strerror(errno));
  return parse_config(ss.str(), file.string());
}

Config load_config_or_default(const std::optional<std::filesystem::path>& file) {
  Config c = file ? load_config(*file) : parse_config(default_config_text(), "<embedded default>");
  if (const char* dir = std::getenv("TERN_DATA_DIR"); dir && dir[0] == '/') c.data_dir = dir;
  return c;
}

}  // namespace tern::config
