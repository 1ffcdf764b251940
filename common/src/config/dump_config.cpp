// dump_config(): the effective config as TOML (`tern --check-config`, like `postconf -n`).
// The output parses back to the same Config.
#include "tern/config/config.hpp"

#include <cstdio>

namespace tern::config {

namespace {

// A TOML basic string (TOML 1.0 "Basic strings": escape ", \ and control characters).
std::string str(std::string_view s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': r += "\\\""; break;
      case '\\': r += "\\\\"; break;
      case '\n': r += "\\n"; break;
      case '\t': r += "\\t"; break;
      case '\r': r += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          r += buf;
        } else {
          r += static_cast<char>(c);
        }
    }
  }
  r += '"';
  return r;
}

std::string size(std::uint64_t n) {
  if (n && n % (1ull << 30) == 0) return str(std::to_string(n >> 30) + "G");
  if (n && n % (1ull << 20) == 0) return str(std::to_string(n >> 20) + "M");
  if (n && n % (1ull << 10) == 0) return str(std::to_string(n >> 10) + "K");
  return std::to_string(n);
}

std::string duration(std::chrono::seconds d) {
  auto s = static_cast<std::uint64_t>(d.count());
  if (s && s % 86400 == 0) return str(std::to_string(s / 86400) + "d");
  if (s && s % 3600 == 0) return str(std::to_string(s / 3600) + "h");
  if (s && s % 60 == 0) return str(std::to_string(s / 60) + "m");
  return str(std::to_string(s) + "s");
}

std::string list(const std::vector<std::string>& v) {
  std::string r = "[";
  for (std::size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + str(v[i]);
  return r + "]";
}

std::string endpoints(const std::vector<Endpoint>& v) {
  std::vector<std::string> t;
  for (auto& e : v) t.push_back(e.text());
  return list(t);
}

const char* boolean(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string dump_config(const Config& c) {
  std::string o;
  auto kv = [&o](std::string_view k, const std::string& v) {
    o += k;
    o += " = ";
    o += v;
    o += '\n';
  };
  auto table = [&o](std::string_view t) {
    o += "\n[";
    o += t;
    o += "]\n";
  };
  o += "# effective config from " + c.source + "\n";
  kv("hostname", str(c.hostname));
  kv("data_dir", str(c.data_dir.string()));
  kv("user", str(c.user));
  table("tls");
  kv("cert", str(c.tls.cert));
  kv("key", str(c.tls.key));
  table("smtp");
  kv("listen", endpoints(c.smtp.smtp.listen));
  kv("auth", boolean(c.smtp.smtp.auth));
  kv("trusted_networks", list(c.smtp.trusted_networks));
  kv("check_header_from", boolean(c.smtp.check_header_from));
  table("submission");
  kv("listen", endpoints(c.smtp.submission.listen));
  table("submissions");
  kv("listen", endpoints(c.smtp.submissions.listen));
  table("imap");
  kv("listen", endpoints(c.imap.plain.listen));
  kv("allow_plaintext_auth", boolean(c.imap.allow_plaintext_auth));
  kv("command_line", size(c.imap.command_line));
  kv("nesting", std::to_string(c.imap.nesting));
  kv("sequence_ranges", std::to_string(c.imap.sequence_ranges));
  kv("idle_timeout", duration(c.imap.idle_timeout));
  kv("login_timeout", duration(c.imap.login_timeout));
  kv("view_cache_messages", std::to_string(c.imap.view_cache_messages));
  kv("view_cache_size", size(c.imap.view_cache_size));
  table("imaps");
  kv("listen", endpoints(c.imap.implicit_tls.listen));
  table("pop3");
  kv("listen", endpoints(c.pop3.plain.listen));
  kv("allow_plaintext_auth", boolean(c.pop3.allow_plaintext_auth));
  if (c.pop3.expire_days) kv("expire", std::to_string(*c.pop3.expire_days));
  if (c.pop3.login_delay_secs)
    kv("login_delay", duration(std::chrono::seconds(*c.pop3.login_delay_secs)));
  table("pop3s");
  kv("listen", endpoints(c.pop3.implicit_tls.listen));
  table("web");
  kv("listen", endpoints(c.web.listen));
  kv("tls", boolean(c.web.tls));
  kv("session_idle", duration(c.web.session_idle));
  kv("session_lifetime", duration(c.web.session_lifetime));
  kv("max_body", size(c.web.max_body));
  table("dns");
  kv("servers", endpoints(c.dns.servers));
  kv("timeout", duration(c.dns.timeout));
  table("outbound");
  kv("enabled", boolean(c.outbound.enabled));
  kv("port", std::to_string(c.outbound.port));
  kv("tls", str(c.outbound.tls));
  kv("ca_file", str(c.outbound.ca_file));
  kv("connections", std::to_string(c.outbound.connections));
  kv("connections_per_destination", std::to_string(c.outbound.connections_per_destination));
  kv("retry_min", duration(c.outbound.retry_min));
  kv("retry_max", duration(c.outbound.retry_max));
  kv("max_age", duration(c.outbound.max_age));
  kv("delay_notice", duration(c.outbound.delay_notice));
  table("relay");
  kv("host", str(c.relay.host));
  kv("username", str(c.relay.username));
  kv("password_file", str(c.relay.password_file));
  kv("tls", str(c.relay.tls));
  table("limits");
  kv("message_size", size(c.limits.message_size));
  kv("recipients", std::to_string(c.limits.recipients));
  kv("connections", std::to_string(c.limits.connections));
  kv("connections_per_ip", std::to_string(c.limits.connections_per_ip));
  kv("command_timeout", duration(c.limits.command_timeout));
  kv("data_timeout", duration(c.limits.data_timeout));
  kv("session_timeout", duration(c.limits.session_timeout));
  kv("error_limit", std::to_string(c.limits.error_limit));
  kv("junk_limit", std::to_string(c.limits.junk_limit));
  kv("auth_failures", std::to_string(c.limits.auth_failures));
  kv("ipv6_prefix", std::to_string(c.limits.ipv6_prefix));
  kv("command_line", std::to_string(c.limits.command_line));
  kv("text_line", std::to_string(c.limits.text_line));
  table("log");
  kv("level", str(c.log.level));
  table("auth");
  kv("cache_ttl", duration(c.auth.cache_ttl));
  kv("cache_size", std::to_string(c.auth.cache_size));
  kv("account_failures", std::to_string(c.auth.account_failures));
  kv("failure_delay", duration(c.auth.failure_delay));
  kv("password_min_length", std::to_string(c.auth.password_min_length));
  table("store");
  kv("events_retention", duration(c.store.events_retention));
  kv("events_flush", duration(c.store.events_flush));
  kv("events_per_ip", std::to_string(c.store.events_per_ip));
  table("checks");
  kv("enabled", boolean(c.checks.enabled));
  kv("authserv_id", str(c.checks.authserv_id));
  kv("timeout", duration(c.checks.timeout));
  auto actions = [&](const CheckPolicy& p) {
    kv("dmarc_reject", str(std::string(check_action_name(p.dmarc_reject))));
    kv("dmarc_quarantine", str(std::string(check_action_name(p.dmarc_quarantine))));
    kv("spf_fail", str(std::string(check_action_name(p.spf_fail))));
  };
  actions(c.checks.policy);
  for (const auto& [d, p] : c.checks.domains) {
    table("checks.domain." + str(d));
    actions(p);
  }
  return o;
}

}  // namespace tern::config
