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
