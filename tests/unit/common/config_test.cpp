#include "tern/config/config.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using namespace tern::config;
using namespace std::chrono_literals;

namespace {

std::string error_of(std::string_view text) {
  try {
    parse_config(text, "tern.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The repository's conf/ (tests/data is TERN_TEST_DATA).
std::string conf_dir() {
  return (std::filesystem::path(TERN_TEST_DATA).parent_path().parent_path() / "conf").string();
}

}  // namespace

TEST_CASE("sizes", "[config]") {
  struct {
    const char* in;
    std::uint64_t out;
  } good[] = {{"0", 0},           {"1", 1},
              {"1024", 1024},     {"1K", 1024},
              {"1k", 1024},       {"1M", 1048576},
              {"50M", 52428800},  {"2G", 2147483648ull},
              {"16383G", 16383ull << 30}};
  for (auto& g : good) {
    INFO(g.in);
    CHECK(parse_size(g.in) == g.out);
  }
  for (const char* bad : {"", "M", "50Q", "-1M", "+1M", "1.5M", " 1M", "1M ", "1MB", "1 M",
                          "99999999999999999999", "17179869184G", "0x10"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_size(bad), ConfigError);
  }
  CHECK_THROWS_WITH(parse_size("50Q"), "bad size \"50Q\" (use K, M or G)");
}

TEST_CASE("durations", "[config]") {
  CHECK(parse_duration("12s") == 12s);
  CHECK(parse_duration("5m") == 300s);
  CHECK(parse_duration("1h") == 3600s);
  CHECK(parse_duration("30d") == 30 * 86400s);
  CHECK(parse_duration("0s") == 0s);
  for (const char* bad : {"", "s", "12", "5x", "-5m", "1.5h", "5 m", "5M", "m5", "99999999999999d"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), ConfigError);
  }
  CHECK_THROWS_WITH(parse_duration("5x"), "bad duration \"5x\" (use s, m, h or d, e.g. \"30s\")");
}

TEST_CASE("endpoints", "[config]") {
  struct {
    const char* in;
    const char* host;
    std::uint16_t port;
    const char* text;
  } good[] = {{"127.0.0.1:25", "127.0.0.1", 25, "127.0.0.1:25"},
              {"0.0.0.0:0", "0.0.0.0", 0, "0.0.0.0:0"},
              {"[::1]:2525", "::1", 2525, "[::1]:2525"},
              {"[::]:65535", "::", 65535, "[::]:65535"},
              {"[0:0:0:0:0:0:0:1]:25", "::1", 25, "[::1]:25"},
              {"[2001:DB8::1]:587", "2001:db8::1", 587, "[2001:db8::1]:587"}};
  for (auto& g : good) {
    INFO(g.in);
    Endpoint e = parse_endpoint(g.in);
    CHECK(e.host == g.host);
    CHECK(e.port == g.port);
    CHECK(e.text() == g.text);
    CHECK(e.v6() == (std::string_view(g.host).find(':') != std::string_view::npos));
  }
  struct {
    const char* in;
    const char* msg;
  } bad[] = {
      {"localhost:25",
       "bad address \"localhost:25\" (not an IP address; use e.g. \"127.0.0.1:25\" or \"[::1]:25\")"},
      {"127.0.0.1", "bad address \"127.0.0.1\" (missing \":port\")"},
      {"127.0.0.1:", "bad address \"127.0.0.1:\" (missing port)"},
      {"127.0.0.1:65536", "bad address \"127.0.0.1:65536\" (port must be a number 0-65535)"},
      {"127.0.0.1:-1", "bad address \"127.0.0.1:-1\" (port must be a number 0-65535)"},
      {"127.0.0.1:2x", "bad address \"127.0.0.1:2x\" (port must be a number 0-65535)"},
      {"[::1", "bad address \"[::1\" (missing \"]\")"},
      {"[::1]", "bad address \"[::1]\" (missing \":port\")"},
      {"[::1]25", "bad address \"[::1]25\" (expected \":port\" after \"]\")"},
      {"::1:25", "bad address \"::1:25\" (write an IPv6 address in brackets, e.g. \"[::1]:25\")"},
      {"[127.0.0.1]:25", "bad address \"[127.0.0.1]:25\" (not an IPv6 address)"},
      {":25", "bad address \":25\" (missing IP address)"},
      {"", "bad address \"\" (missing \":port\")"},
      {"256.0.0.1:25",
       "bad address \"256.0.0.1:25\" (not an IP address; use e.g. \"127.0.0.1:25\" or \"[::1]:25\")"},
  };
  for (auto& b : bad) {
    INFO(b.in);
    CHECK_THROWS_WITH(parse_endpoint(b.in), b.msg);
  }
}

TEST_CASE("embedded default config", "[config]") {
  Config c = parse_config(default_config_text(), "<embedded default>");
  CHECK(c.hostname == "localhost");
  CHECK(c.user == "tern");
  CHECK(c.data_dir.is_absolute());
  CHECK(c.data_dir == (std::filesystem::current_path() / "var").lexically_normal());
  auto only = [](const Listener& l) {
    REQUIRE(l.listen.size() == 1);
    return l.listen[0].text();
  };
  CHECK(only(c.smtp.smtp) == "127.0.0.1:2525");
  CHECK(only(c.smtp.submission) == "127.0.0.1:2587");
  CHECK(only(c.smtp.submissions) == "127.0.0.1:2465");
  CHECK(only(c.imap.plain) == "127.0.0.1:1143");
  CHECK(only(c.imap.implicit_tls) == "127.0.0.1:1993");
  CHECK(only(c.pop3.plain) == "127.0.0.1:1110");
  CHECK(only(c.pop3.implicit_tls) == "127.0.0.1:1995");
  CHECK(only(c.web) == "127.0.0.1:8080");
  CHECK_FALSE(c.smtp.smtp.auth);
  CHECK_FALSE(c.imap.allow_plaintext_auth);
  CHECK_FALSE(c.pop3.allow_plaintext_auth);
  CHECK(c.tls.cert.empty());
  CHECK(c.dns.servers.empty());
  CHECK(c.dns.timeout == std::chrono::seconds(10));
  CHECK(c.outbound.port == 25);
  CHECK(c.relay.host.empty());
  CHECK(c.log.level == "info");
  // design §4 limits
  CHECK(c.limits.message_size == 50ull << 20);
  CHECK(c.limits.recipients == 100);
  CHECK(c.limits.connections == 1000);
  CHECK(c.limits.connections_per_ip == 20);
  CHECK(c.limits.command_timeout == 300s);
  CHECK(c.limits.data_timeout == 600s);
  CHECK(c.limits.error_limit == 20);
  CHECK(c.limits.auth_failures == 5);
  CHECK(c.limits.command_line == 512);
  CHECK(c.limits.text_line == 1000);
  CHECK(load_config_or_default(std::nullopt).web.listen[0].port == 8080);
}

TEST_CASE("embedded default equals conf/tern.default.toml", "[config]") {
  std::string file = read_file(conf_dir() + "/tern.default.toml");
  REQUIRE_FALSE(file.empty());
  CHECK(file == std::string(default_config_text()));
}

TEST_CASE("conf/tern.example.toml parses", "[config]") {
  std::string path = conf_dir() + "/tern.example.toml";
  Config c = load_config(path);
  CHECK(c.hostname == "mx.example.test");
  CHECK(c.smtp.smtp.listen.size() == 2);
}

TEST_CASE("a file with every key", "[config]") {
  Config c = parse_config(R"(
hostname = "mx.example.test"
data_dir = "/srv/tern"
user = "mail"
[tls]
cert = "/etc/tern/cert.pem"
key = "/etc/tern/key.pem"
[smtp]
listen = ["0.0.0.0:25", "[::]:25"]
auth = true
trusted_networks = ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]
[submission]
listen = ["127.0.0.1:587"]
[submissions]
listen = "127.0.0.1:465"
[imap]
listen = ["127.0.0.1:143"]
allow_plaintext_auth = true
[imaps]
listen = ["127.0.0.1:993"]
[pop3]
listen = ["127.0.0.1:110"]
allow_plaintext_auth = true
expire = 30
login_delay = "5m"
[pop3s]
listen = []
[web]
listen = ["[::1]:443"]
[dns]
servers = ["127.0.0.1:5353", "::1"]
timeout = "3s"
[outbound]
port = 2500
[relay]
host = "smtp.example.net:587"
username = "me"
password_file = "/etc/tern/relay.pw"
[limits]
message_size = "10M"
recipients = 7
connections = 50
connections_per_ip = 3
command_timeout = "30s"
data_timeout = 120
error_limit = 4
auth_failures = 2
command_line = 1024
text_line = 2000
[log]
level = "debug"
[auth]
cache_ttl = "0s"
cache_size = 10
[store]
events_retention = "7d"
)",
                          "every.toml");
  CHECK(c.source == "every.toml");
  CHECK(c.hostname == "mx.example.test");
  CHECK(c.data_dir == "/srv/tern");
  CHECK(c.user == "mail");
  CHECK(c.tls.cert == "/etc/tern/cert.pem");
  CHECK(c.tls.key == "/etc/tern/key.pem");
  REQUIRE(c.smtp.smtp.listen.size() == 2);
  CHECK(c.smtp.smtp.listen[1].text() == "[::]:25");
  CHECK(c.smtp.smtp.auth);
  CHECK(c.smtp.trusted_networks.size() == 3);
  CHECK(c.smtp.submissions.listen.at(0).port == 465);
  CHECK(c.imap.allow_plaintext_auth);
  CHECK(c.imap.implicit_tls.listen.at(0).port == 993);
  CHECK(c.pop3.expire_days == 30u);
  CHECK(c.pop3.login_delay_secs == 300u);
  CHECK_FALSE(c.pop3.implicit_tls.enabled());
  CHECK(c.web.listen.at(0).text() == "[::1]:443");
  REQUIRE(c.dns.servers.size() == 2);
  CHECK(c.dns.servers[1].text() == "[::1]:53");
  CHECK(c.dns.timeout == std::chrono::seconds(3));
  CHECK(c.outbound.port == 2500);
  CHECK(c.relay.host == "smtp.example.net:587");
  CHECK(c.relay.password_file == "/etc/tern/relay.pw");
  CHECK(c.limits.message_size == 10ull << 20);
  CHECK(c.limits.recipients == 7);
  CHECK(c.limits.connections == 50);
  CHECK(c.limits.connections_per_ip == 3);
  CHECK(c.limits.command_timeout == 30s);
  CHECK(c.limits.data_timeout == 120s);
  CHECK(c.limits.error_limit == 4);
  CHECK(c.limits.auth_failures == 2);
  CHECK(c.limits.command_line == 1024);
  CHECK(c.limits.text_line == 2000);
  CHECK(c.log.level == "debug");
  CHECK(c.auth.cache_ttl == 0s);
  CHECK(c.auth.cache_size == 10);
  CHECK(c.store.events_retention == 7 * 86400s);

  // dump_config round trip: the dump parses back to the same effective config.
  std::string dump = dump_config(c);
  Config again = parse_config(dump, "every.toml");
  CHECK(dump_config(again) == dump);
  CHECK(dump.find("message_size = \"10M\"\n") != std::string::npos);
  CHECK(dump.find("listen = [\"0.0.0.0:25\", \"[::]:25\"]\n") != std::string::npos);
}

TEST_CASE("a table left out turns its listener off; other defaults stay", "[config]") {
  Config c = parse_config("[smtp]\nlisten = [\"127.0.0.1:0\"]\n", "t.toml");
  CHECK(c.smtp.smtp.enabled());
  CHECK_FALSE(c.smtp.submission.enabled());
  CHECK_FALSE(c.pop3.plain.enabled());
  CHECK_FALSE(c.web.enabled());
  CHECK(c.limits.recipients == 100);
  CHECK(c.hostname == "localhost");
  CHECK(c.data_dir == "/var/lib/tern");  // a config file's default is the production path
}

TEST_CASE("relative data_dir is made absolute", "[config]") {
  Config c = parse_config("data_dir = \"x/../spool\"\n", "t.toml");
  CHECK(c.data_dir == (std::filesystem::current_path() / "spool"));
}

TEST_CASE("dump of the default parses back", "[config]") {
  Config c = load_config_or_default(std::nullopt);
  std::string dump = dump_config(c);
  CHECK(dump_config(parse_config(dump, "<embedded default>")) == dump);
  CHECK(dump.find("[pop3s]\nlisten = [\"127.0.0.1:1995\"]\n") != std::string::npos);
  CHECK(dump.find("command_timeout = \"5m\"\n") != std::string::npos);
}

TEST_CASE("config errors name file, line and key", "[config]") {
  struct {
    const char* text;
    const char* msg;
  } cases[] = {
      {"hostname = \"a\"\n[limits]\nmessage_size = \"50Q\"\n",
       "tern.toml:3: [limits] message_size: bad size \"50Q\" (use K, M or G)"},
      {"[limits]\nmessage_size = \"-1M\"\n",
       "tern.toml:2: [limits] message_size: bad size \"-1M\" (use K, M or G)"},
      {"[limits]\nmessage_size = -5\n",
       "tern.toml:2: [limits] message_size: bad size -5 (use K, M or G)"},
      {"[limits]\nmessage_size = \"1\"\n",
       "tern.toml:2: [limits] message_size: \"1\" is out of range (1K to 4G)"},
      {"[limits]\nmessage_size = \"5G\"\n",
       "tern.toml:2: [limits] message_size: \"5G\" is out of range (1K to 4G)"},
      {"[limits]\nmessage_size = true\n",
       "tern.toml:2: [limits] message_size: expected a size like \"50M\""},
      {"[limits]\nrecipients = 0\n",
       "tern.toml:2: [limits] recipients: 0 is out of range (1 to 100000)"},
      {"[limits]\nrecipients = -3\n",
       "tern.toml:2: [limits] recipients: -3 is out of range (1 to 100000)"},
      {"[limits]\nrecipients = \"100\"\n",
       "tern.toml:2: [limits] recipients: expected an integer"},
      {"[limits]\nrecipients = 1.5\n", "tern.toml:2: [limits] recipients: expected an integer"},
      {"[limits]\ncommand_line = 100\n",
       "tern.toml:2: [limits] command_line: 100 is out of range (512 to 65536)"},
      {"[limits]\ncommand_timeout = \"5x\"\n",
       "tern.toml:2: [limits] command_timeout: bad duration \"5x\" (use s, m, h or d, e.g. \"30s\")"},
      {"[limits]\ncommand_timeout = \"0s\"\n",
       "tern.toml:2: [limits] command_timeout: \"0s\" is out of range (1s to 1d)"},
      {"[limits]\ndata_timeout = [1]\n",
       "tern.toml:2: [limits] data_timeout: expected a duration like \"30s\""},
      {"[limits]\nmesage_size = \"1M\"\n", "tern.toml:2: [limits] mesage_size: unknown key"},
      {"\n\n[limitz]\nmessage_size = \"1M\"\n", "tern.toml:3: limitz: unknown key"},
      {"hostnam = \"x\"\n", "tern.toml:1: hostnam: unknown key"},
      {"hostname = 5\n", "tern.toml:1: hostname: expected a string"},
      {"hostname = \"bad host\"\n", "tern.toml:1: hostname: bad hostname \"bad host\""},
      {"hostname = \"-a.example\"\n", "tern.toml:1: hostname: bad hostname \"-a.example\""},
      {"data_dir = \"\"\n", "tern.toml:1: data_dir: must not be empty"},
      {"user = \"root user\"\n", "tern.toml:1: user: bad user name \"root user\""},
      {"limits = 5\n", "tern.toml:1: limits: expected a table, e.g. [limits]"},
      {"[smtp]\nlisten = [\"localhost:25\"]\n",
       "tern.toml:2: [smtp] listen: bad address \"localhost:25\" (not an IP address; use e.g. "
       "\"127.0.0.1:25\" or \"[::1]:25\")"},
      {"[imap]\nlisten = [\n  \"127.0.0.1:143\",\n  \"[::1\",\n]\n",
       "tern.toml:4: [imap] listen: bad address \"[::1\" (missing \"]\")"},
      {"[pop3]\nlisten = [\"127.0.0.1\"]\n",
       "tern.toml:2: [pop3] listen: bad address \"127.0.0.1\" (missing \":port\")"},
      {"[web]\nlisten = [\"127.0.0.1:70000\"]\n",
       "tern.toml:2: [web] listen: bad address \"127.0.0.1:70000\" (port must be a number 0-65535)"},
      {"[web]\nlisten = [8080]\n", "tern.toml:2: [web] listen: expected a list of strings"},
      {"[web]\nlisten = 8080\n", "tern.toml:2: [web] listen: expected a list of strings"},
      {"[web]\nport = 8080\n", "tern.toml:2: [web] port: unknown key"},
      {"[smtp]\nlisten = [\"127.0.0.1:25\"]\n[submission]\nlisten = [\"127.0.0.1:25\"]\n",
       "tern.toml:4: [submission] listen: 127.0.0.1:25 is used by another listener"},
      {"[smtp]\nauth = \"yes\"\n", "tern.toml:2: [smtp] auth: expected true or false"},
      {"[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n",
       "tern.toml:2: [smtp] trusted_networks: bad network \"10.0.0.0/33\" (use CIDR, e.g. "
       "\"10.0.0.0/8\")"},
      {"[imaps]\nallow_plaintext_auth = true\n",
       "tern.toml:2: [imaps] allow_plaintext_auth: unknown key"},
      {"[dns]\nservers = [\"127.0.0.1:0\"]\n",
       "tern.toml:2: [dns] servers: bad address \"127.0.0.1:0\" (port 0)"},
      {"[dns]\ntimeout = 0\n", "tern.toml:2: [dns] timeout: 0 is out of range (1s to 1m)"},
      {"[dns]\ntimeout = \"61s\"\n", "tern.toml:2: [dns] timeout: \"61s\" is out of range (1s to 1m)"},
      {"[dns]\ntimeout = \"soon\"\n",
       "tern.toml:2: [dns] timeout: bad duration \"soon\" (use s, m, h or d, e.g. \"30s\")"},
      {"[outbound]\nport = 0\n", "tern.toml:2: [outbound] port: 0 is out of range (1 to 65535)"},
      {"[relay]\nhost = \"smtp.example.net\"\n",
       "tern.toml:2: [relay] host: bad relay host \"smtp.example.net\" (use "
       "\"smtp.example.net:587\")"},
      {"[relay]\nhost = \"smtp.example.net:587\"\nusername = \"u\"\n",
       "tern.toml:1: [relay] password_file: needed when username is set"},
      {"[relay]\ntls = \"ssl\"\n",
       "tern.toml:2: [relay] tls: must be \"auto\", \"starttls\" or \"implicit\", not \"ssl\""},
      {"[smtp]\ncheck_header_from = 1\n", "tern.toml:2: [smtp] check_header_from: expected true or false"},
      {"[tls]\ncert = \"/c.pem\"\n", "tern.toml:1: [tls] key: cert and key must be given together"},
      {"[log]\nlevel = \"loud\"\n",
       "tern.toml:2: [log] level: bad level \"loud\" (use trace, debug, info, warn, error or off)"},
      {"[auth]\ncache_ttl = \"31d\"\n",
       "tern.toml:2: [auth] cache_ttl: \"31d\" is out of range (0s to 30d)"},
      {"[pop3]\nexpire = -1\n", "tern.toml:2: [pop3] expire: -1 is out of range (0 to 36500)"},
      {"[store]\nevents_retention = \"1m\"\n",
       "tern.toml:2: [store] events_retention: \"1m\" is out of range (1h to 3650d)"},
      {"[smtp]\n[smtp.extra]\nx = 1\n", "tern.toml:2: [smtp] extra: unknown key"},
  };
  for (auto& c : cases) {
    INFO(c.text);
    CHECK(error_of(c.text) == c.msg);
  }
}

TEST_CASE("TOML syntax errors name file and line", "[config]") {
  std::string e = error_of("hostname = \"a\"\n\n[limits\n");
  CHECK(e.rfind("tern.toml:3: TOML syntax: ", 0) == 0);
  e = error_of("hostname = \"a\"\nhostname = \"b\"\n");
  CHECK(e.rfind("tern.toml:2: TOML syntax: ", 0) == 0);
}

TEST_CASE("load_config: unreadable file", "[config]") {
  CHECK_THROWS_WITH(load_config("/nonexistent/tern.toml"),
                    "/nonexistent/tern.toml: cannot read: No such file or directory");
}

TEST_CASE("[checks] defaults, actions and per-domain policy", "[config][checks]") {
  Config d = parse_config("hostname = \"mx.example.test\"\n", "tern.toml");
  CHECK(d.checks.enabled);
  CHECK(d.checks.timeout == std::chrono::seconds(20));
  CHECK(d.checks.policy.dmarc_reject == CheckAction::reject);
  CHECK(d.checks.policy.dmarc_quarantine == CheckAction::junk);
  CHECK(d.checks.policy.spf_fail == CheckAction::accept);
  Config c = parse_config(R"(
[checks]
authserv_id = "auth.example.test"
timeout = "5s"
spf_fail = "junk"
[checks.domain."Lists.Example.Test"]
dmarc_reject = "junk"
[checks.domain."strict.example.test"]
dmarc_quarantine = "reject"
)", "tern.toml");
  CHECK(c.checks.authserv_id == "auth.example.test");
  CHECK(c.checks.timeout == std::chrono::seconds(5));
  const auto& lists = c.checks.policy_for("lists.example.test");
  CHECK(lists.dmarc_reject == CheckAction::junk);
  CHECK(lists.spf_fail == CheckAction::junk);  // inherited from [checks]
  CHECK(c.checks.policy_for("strict.example.test").dmarc_quarantine == CheckAction::reject);
  CHECK(c.checks.policy_for("other.test").dmarc_reject == CheckAction::reject);
  // The dump parses back to the same policy.
  Config back = parse_config(dump_config(c), "dump");
  CHECK(back.checks.policy_for("lists.example.test").dmarc_reject == CheckAction::junk);
  CHECK_THROWS_WITH(parse_config("[checks]\nspf_fail = \"bounce\"\n", "tern.toml"),
                    Catch::Contains("[checks] spf_fail: bad action"));
  CHECK_THROWS_WITH(parse_config("[checks]\nfoo = 1\n", "tern.toml"), Catch::Contains("unknown key"));
}

TEST_CASE("[imap] limits", "[config]") {
  auto c = tern::config::parse_config("[imap]\ncommand_line = \"16K\"\nnesting = 8\n"
                                      "sequence_ranges = 500\nidle_timeout = \"45m\"\n", "t.toml");
  CHECK(c.imap.command_line == 16384);
  CHECK(c.imap.nesting == 8);
  CHECK(c.imap.sequence_ranges == 500);
  CHECK(c.imap.idle_timeout == std::chrono::minutes(45));
  auto d = tern::config::parse_config("", "t.toml");
  CHECK(d.imap.command_line == 65536);
  CHECK(d.imap.idle_timeout == std::chrono::minutes(30));
  CHECK(d.imap.view_cache_messages == 2048);
  CHECK(d.imap.view_cache_size == 64u << 20);
  auto v = tern::config::parse_config("[imap]\nview_cache_messages = 1\nview_cache_size = \"1G\"\n", "t.toml");
  CHECK(v.imap.view_cache_messages == 1);
  CHECK(v.imap.view_cache_size == 1u << 30);
  CHECK(tern::config::parse_config(tern::config::dump_config(v), "dump").imap.view_cache_size == 1u << 30);
  CHECK_THROWS_AS(tern::config::parse_config("[imap]\nview_cache_messages = 0\n", "t.toml"),
                  tern::config::ConfigError);
  // RFC 9051 §5.4: the autologout timer is at least 30 minutes.
  CHECK_THROWS_AS(tern::config::parse_config("[imap]\nidle_timeout = \"10m\"\n", "t.toml"),
                  tern::config::ConfigError);
  CHECK_THROWS_AS(tern::config::parse_config("[imap]\ncommand_line = \"1K\"\n", "t.toml"),
                  tern::config::ConfigError);
}

TEST_CASE("[relay] tls and [smtp] check_header_from", "[config]") {
  Config d = parse_config("", "t.toml");
  CHECK(d.relay.tls == "auto");
  CHECK(d.smtp.check_header_from);
  Config c = parse_config("[smtp]\ncheck_header_from = false\n[relay]\nhost = \"smtp.example.net:465\"\ntls = \"implicit\"\n",
                          "t.toml");
  CHECK_FALSE(c.smtp.check_header_from);
  CHECK(c.relay.tls == "implicit");
  std::string dump = dump_config(c);
  CHECK(dump.find("check_header_from = false\n") != std::string::npos);
  CHECK(dump.find("tls = \"implicit\"\n") != std::string::npos);
}
