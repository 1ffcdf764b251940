// Pure parts of the supervisor: restart backoff and the command line.
#include "../backoff.hpp"
#include "../config_diff.hpp"
#include "../options.hpp"

#include <catch2/catch.hpp>

using namespace tern::supervisor;
using namespace std::chrono_literals;

TEST_CASE("restart backoff doubles to 60 s and resets after 60 s of uptime", "[supervisor]") {
  Backoff b;
  std::vector<long> got;
  for (int i = 0; i < 9; ++i) got.push_back(b.on_exit(100ms).count());
  CHECK(got == std::vector<long>{1, 2, 4, 8, 16, 32, 60, 60, 60});
  CHECK(b.on_exit(59s).count() == 60);
  CHECK(b.on_exit(60s).count() == 1);  // ran long enough: start over
  CHECK(b.on_exit(1s).count() == 2);
  CHECK(b.on_exit(3600s).count() == 1);
}

TEST_CASE("tern command line", "[supervisor]") {
  std::string err;
  auto o = parse_options({}, err);
  REQUIRE(o);
  CHECK_FALSE(o->config);
  CHECK_FALSE(o->check_config);

  o = parse_options({"--config", "/etc/tern.toml", "--check-config"}, err);
  REQUIRE(o);
  CHECK(*o->config == "/etc/tern.toml");
  CHECK(o->check_config);

  o = parse_options({"--config=x.toml"}, err);
  REQUIRE(o);
  CHECK(*o->config == "x.toml");

  CHECK_FALSE(parse_options({"--config"}, err));
  CHECK(err == "--config needs a file name");
  CHECK_FALSE(parse_options({"--config="}, err));
  CHECK(err == "--config needs a file name");
  CHECK_FALSE(parse_options({"--frobnicate"}, err));
  CHECK(err == "unknown option --frobnicate");
  CHECK_FALSE(parse_options({"stray"}, err));
  CHECK(err == "unknown option stray");
}

TEST_CASE("SIGHUP: changed settings are named, applied ones skipped", "[supervisor]") {
  const std::string before =
      "# effective config from x\nhostname = \"a\"\n\n[tls]\ncert = \"\"\n\n[limits]\nrecipients = 100\n"
      "connections = 1000\n";
  const std::string after =
      "# effective config from y\nhostname = \"b\"\n\n[tls]\ncert = \"/c.pem\"\n\n[limits]\nrecipients = 50\n"
      "connections = 1000\n";
  CHECK(config_changes(before, before).empty());
  CHECK(config_changes(before, after, {"tls.cert"}) ==
        std::vector<std::string>{"hostname: \"a\" -> \"b\"", "[limits] recipients: 100 -> 50"});
  CHECK(config_changes(before, after).size() == 3);
  CHECK(config_changes("[x]\nk = 1\n", "[x]\n") == std::vector<std::string>{"[x] k: 1 -> (unset)"});
}
