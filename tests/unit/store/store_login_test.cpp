// The store's side of logins: the per-install secret and the canonical login the
// throttle counts under (tern/store/login_source.hpp).
#include <catch2/catch.hpp>

#include "store_fixture.hpp"
#include "tern/store/login_source.hpp"

using namespace tern::store;
using tern::store::test::Fixture;

TEST_CASE("install_secret: 32 random bytes, kept, one per name", "[store][auth]") {
  Fixture f;
  auto a = f.store->install_secret("scram-fake-salt");
  REQUIRE(a);
  CHECK(a->size() == 32);
  auto again = f.store->install_secret("scram-fake-salt");
  REQUIRE(again);
  CHECK(*again == *a);
  auto other = f.store->install_secret("something-else");
  REQUIRE(other);
  CHECK(*other != *a);
  // Survives a reopen (another process, a restart).
  auto path = f.dir.path;
  f.store.reset();
  auto s = Store::open(path);
  REQUIRE(s);
  auto reopened = (*s)->install_secret("scram-fake-salt");
  REQUIRE(reopened);
  CHECK(*reopened == *a);
}

TEST_CASE("authenticator_options: canonical login as the store resolves it", "[store][auth]") {
  Fixture f;
  tern::config::Config cfg;
  auto o = authenticator_options(cfg, *f.store);
  REQUIRE(o.canonical);
  CHECK(o.canonical(" A@Example.TEST.") == "a@example.test");
  CHECK(o.canonical("not an address") == "not an address");
  CHECK(o.fake_salt_secret.size() == 32);
  // The lookup finds the same spellings.
  auto lookup = account_lookup(*f.store);
  auto r = lookup(" a@example.test.");
  REQUIRE(r);
  CHECK(r->address == "a@example.test");
  CHECK_FALSE(lookup("nobody@example.test"));
}

TEST_CASE("normalize_domain: two labels, no IP address, IDNA to A-labels", "[store][address]") {
  for (const char* bad : {"localhost", "example", "192.0.2.1", "10.0.0.1.", "[192.0.2.1]", "a..b", "exa mple.test",
                          "-a.test", "a.123"})
    CHECK_FALSE(normalize_domain(bad).has_value());
  CHECK(normalize_domain("Bücher.Example").value() == "xn--bcher-kva.example");
  CHECK(normalize_domain("xn--bcher-kva.example").value() == "xn--bcher-kva.example");
  CHECK(normalize_domain("faß.de").value() == "xn--fa-hia.de");  // non-transitional (IDNA2008)
  CHECK(normalize_address("Anna@Bücher.example").value() == "anna@xn--bcher-kva.example");
  CHECK(normalize_domain("a.b0").value() == "a.b0");
  CHECK_FALSE(normalize_domain("\xff\xfe.test").has_value());  // not UTF-8
}

TEST_CASE("del_account_checked: refuses while pointed at, --force cleans up in one go", "[store][accounts]") {
  Fixture f;
  REQUIRE(f.store->add_domain("other.test"));
  REQUIRE(f.store->add_account(NewAccount{"b@example.test", "$y$fake", std::nullopt, {}, true}));
  REQUIRE(f.store->add_alias("team@example.test", {"a@example.test", "b@example.test"}));
  REQUIRE(f.store->add_alias("only@example.test", {"a@example.test"}));
  REQUIRE(f.store->add_alias("@other.test", {"a@example.test"}));
  REQUIRE(f.store->set_domain_archive("other.test", "a@example.test"));
  auto r = f.store->del_account_checked("a@example.test", false);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"alias only@example.test", "alias team@example.test", "archive of other.test",
                                       "catch-all @other.test"});
  CHECK(f.store->get_account("a@example.test"));  // nothing changed
  CHECK(f.store->get_alias("only@example.test"));
  r = f.store->del_account_checked("a@example.test", true);
  REQUIRE(r);
  CHECK(r->size() == 4);
  CHECK_FALSE(f.store->get_account("a@example.test"));
  CHECK_FALSE(f.store->get_alias("only@example.test"));
  CHECK_FALSE(f.store->get_alias("@other.test"));
  CHECK(f.store->get_alias("team@example.test")->targets == std::vector<std::string>{"b@example.test"});
  CHECK(f.store->get_domain_archive("other.test").value().empty());
  f.require_clean();
  // Still the target of team@: refused; after removing the alias, deleted at once.
  r = f.store->del_account_checked("b@example.test", false);
  REQUIRE(r);
  CHECK(*r == std::vector<std::string>{"alias team@example.test"});
  REQUIRE(f.store->del_alias("team@example.test"));
  r = f.store->del_account_checked("b@example.test", false);
  REQUIRE(r);
  CHECK(r->empty());
  CHECK_FALSE(f.store->get_account("b@example.test"));
}
