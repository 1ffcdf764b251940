// Store: open/schema, domains, accounts, aliases, admins, resolution, pure helpers.
#include <lmdb.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::Fixture;
using tern::store::test::TempDir;

TEST_CASE("address and domain normalization", "[store][pure]") {
  CHECK(normalize_address("A.B+x@Example.TEST").value() == "a.b+x@example.test");
  CHECK(normalize_address(" a@b.c ").value() == "a@b.c");
  for (const char* bad : {"", "a", "@b.c", "a@", "a@@b", "a b@c.d", "a..b@c.d", ".a@c.d", "a@-c.d",
                          "a@c..d", "<a@c.d>", "a@c.d\r\n"})
    CHECK_FALSE(normalize_address(bad).has_value());
  CHECK_FALSE(normalize_address(std::string(65, 'x') + "@c.d").has_value());
  CHECK(normalize_domain("Example.Test.").value() == "example.test");
  CHECK_FALSE(normalize_domain("exa mple.test").has_value());
  CHECK_FALSE(normalize_domain(std::string(64, 'a') + ".test").has_value());
}

TEST_CASE("IMAP LIST pattern matching", "[store][pure]") {
  struct Row {
    const char* pattern;
    const char* name;
    bool match;
  } rows[] = {
      {"*", "INBOX", true},         {"*", "a/b/c", true},      {"%", "a", true},
      {"%", "a/b", false},          {"a/%", "a/b", true},      {"a/%", "a/b/c", false},
      {"a/*", "a/b/c", true},       {"inbox", "INBOX", true},  {"Inbox/%", "INBOX/x", true},
      {"S%t", "Sent", true},        {"S%t", "S/t", false},     {"*t", "a/Sent", true},
      {"Sent", "sent", false},      {"", "INBOX", false},      {"a*b%c", "axx/yb/zc", false},
      {"a*b%c", "axx/ybzc", true},
  };
  for (auto& r : rows) {
    INFO(r.pattern << " vs " << r.name);
    CHECK(mailbox_matches(r.pattern, r.name) == r.match);
  }
}

TEST_CASE("IMAP LIST pattern matching takes linear time", "[store][pure]") {
  // The old backtracking matcher tried every split of the name among the wildcards:
  // "*a" x 16 + "b" against 40 'a's is C(40,16) ~ 6e10 tries. A position-set scan is
  // |pattern| x |name| steps.
  std::string pattern;
  for (int i = 0; i < 16; ++i) pattern += "*a";
  pattern += "b";
  const std::string name(40, 'a');
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(mailbox_matches(pattern, name));
  CHECK(mailbox_matches(pattern.substr(0, pattern.size() - 1), name));
  std::string mixed;
  for (int i = 0; i < 2000; ++i) mixed += "%*";
  CHECK_FALSE(mailbox_matches(mixed + "x", std::string(200, 'a') + "/" + std::string(200, 'a')));
  CHECK(mailbox_matches(mixed + "a", std::string(200, 'a') + "/" + std::string(200, 'a')));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 100);
}

TEST_CASE("open creates the store and refuses a newer schema", "[store]") {
  TempDir dir;
  {
    auto s = Store::open(dir.path);
    REQUIRE(s);
    auto st = (*s)->stats();
    REQUIRE(st);
    CHECK(st->schema_version == kSchemaVersion);
  }
  CHECK(std::filesystem::exists(dir.path / "store" / "data.mdb"));
  // Bump the stored version behind the store's back, as a newer tern would.
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, (dir.path / "store").c_str(), 0, 0660) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
    unsigned char v[4] = {0, 0, 0, 99};
    MDB_val k{6, const_cast<char*>("schema")}, d{4, v};
    REQUIRE(mdb_put(txn, dbi, &k, &d, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  auto s = Store::open(dir.path);
  REQUIRE_FALSE(s);
  CHECK(s.error() == Errc::schema_too_new);
  CHECK(s.error().message().find("newer") != std::string::npos);
}

TEST_CASE("domains", "[store]") {
  Fixture f;
  auto& s = *f.store;
  CHECK(s.add_domain("Other.Test"));
  CHECK(s.add_domain("other.test").error() == Errc::exists);
  CHECK(s.add_domain("bad domain").error() == Errc::invalid_argument);
  CHECK(*s.list_domains() == std::vector<std::string>{"example.test", "other.test"});
  CHECK(s.domain_exists("OTHER.test"));
  CHECK_FALSE(s.domain_exists("nope.test"));
  CHECK(s.del_domain("example.test").error() == Errc::not_permitted);  // has an account
  CHECK(s.del_domain("nope.test").error() == Errc::not_found);
  CHECK(s.del_domain("other.test"));
  CHECK(*s.list_domains() == std::vector<std::string>{"example.test"});
  CHECK(s.set_domain_archive("example.test", "archive@example.test"));
  CHECK(*s.get_domain_archive("example.test") == "archive@example.test");
  CHECK(s.get_domain_archive("nope.test").error() == Errc::unknown_domain);
}

TEST_CASE("deleting the archive account turns the domain's archiving off", "[store]") {
  Fixture f;
  auto& s = *f.store;
  REQUIRE(s.add_domain("other.test"));
  NewAccount arch;
  arch.address = "archive@other.test";
  arch.password_hash = "$6$x$y";
  REQUIRE(s.add_account(arch));
  REQUIRE(s.set_domain_archive("example.test", "archive@other.test"));
  REQUIRE(s.set_domain_archive("other.test", "archive@other.test"));
  REQUIRE(s.del_account("archive@other.test"));
  CHECK(s.get_domain_archive("example.test")->empty());
  CHECK(s.get_domain_archive("other.test")->empty());
  CHECK(s.check(false)->empty());
}

TEST_CASE("accounts", "[store]") {
  Fixture f;
  auto& s = *f.store;
  auto a = s.get_account("A@Example.Test");
  REQUIRE(a);
  CHECK(a->id == f.alice);
  CHECK(a->address == "a@example.test");
  CHECK(a->password_hash == "$y$fake");
  CHECK(a->enabled);
  CHECK(s.add_account({"a@example.test", "", {}, {}, true}).error() == Errc::exists);
  CHECK(s.add_account({"b@nope.test", "", {}, {}, true}).error() == Errc::unknown_domain);
  CHECK(s.add_account({"not an address", "", {}, {}, true}).error() == Errc::invalid_address);
  CHECK(s.add_account({"c@example.test", "bad hash", {}, {}, true}).error() == Errc::invalid_argument);

  auto boxes = s.list_mailboxes(f.alice, "*");
  REQUIRE(boxes);
  std::vector<std::string> names;
  for (auto& b : *boxes) names.push_back(b.name);
  CHECK(names == std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"});
  for (auto& b : *boxes) {
    CHECK(b.subscribed);
    if (b.name == "Sent") CHECK(b.special_use == SpecialUse::sent);
    if (b.name == "Junk") CHECK(b.special_use == SpecialUse::junk);
    if (b.name == "INBOX") CHECK(b.special_use == SpecialUse::none);
  }
  std::set<std::uint32_t> uidvalidities;
  for (auto& b : *boxes) uidvalidities.insert(b.uidvalidity);
  CHECK(uidvalidities.size() == 6);

  ScramCredential sc{"salt", 4096, std::string(32, 'k'), std::string(32, 's')};
  REQUIRE(s.set_password("a@example.test", "$6$new", sc));
  a = s.get_account(f.alice);
  CHECK(a->password_hash == "$6$new");
  REQUIRE(a->scram);
  CHECK(a->scram->stored_key == std::string(32, 'k'));
  REQUIRE(s.set_password("a@example.test", "$6$newer", std::nullopt));
  CHECK_FALSE(s.get_account(f.alice)->scram.has_value());
  REQUIRE(s.set_quota("a@example.test", Quota{1000, 5}));
  CHECK(s.get_account(f.alice)->quota.bytes == 1000);
  REQUIRE(s.set_enabled("a@example.test", false));
  CHECK_FALSE(s.get_account(f.alice)->enabled);
  CHECK(s.set_quota("zz@example.test", Quota{}).error() == Errc::not_found);

  REQUIRE(s.add_domain("other.test"));
  REQUIRE(s.add_account({"b@other.test", "", {}, {}, true}));
  CHECK(s.list_accounts("")->size() == 2);
  CHECK(s.list_accounts("other.test")->size() == 1);
  CHECK(s.list_accounts("other.test")->at(0).address == "b@other.test");

  f.deliver(f.alice, "Subject: x\r\n\r\nhello\r\n");
  REQUIRE(s.del_account("a@example.test"));
  CHECK(s.get_account("a@example.test").error() == Errc::not_found);
  CHECK(s.get_mailbox(f.alice, "INBOX").error() == Errc::no_such_mailbox);
  CHECK(s.stats()->blobs == 0);  // the body went with the last reference
  f.require_clean();
}

TEST_CASE("aliases, catch-all, plus-addressing and resolution", "[store]") {
  Fixture f;
  auto& s = *f.store;
  REQUIRE(s.add_account({"b@example.test", "", {}, {}, true}));
  auto bob = s.get_account("b@example.test")->id;

  auto r = s.resolve("A@example.test");
  REQUIRE(r);
  REQUIRE(r->local.size() == 1);
  CHECK(r->local[0].account == f.alice);
  CHECK(s.resolve("a+news@example.test")->local.at(0).account == f.alice);
  CHECK(s.resolve("nobody@example.test").error() == Errc::no_such_user);
  CHECK(s.resolve("a@elsewhere.test").error() == Errc::no_such_user);
  CHECK(s.resolve("garbage").error() == Errc::invalid_address);

  REQUIRE(s.add_alias("team@example.test", {"a@example.test", "B@example.test", "x@remote.test"}));
  r = s.resolve("team@example.test");
  REQUIRE(r);
  REQUIRE(r->local.size() == 2);
  CHECK(r->local[0].account == f.alice);
  CHECK(r->local[1].account == bob);
  CHECK(r->remote == std::vector<std::string>{"x@remote.test"});
  REQUIRE(s.add_alias("all@example.test", {"team@example.test", "a@example.test"}));
  CHECK(s.resolve("all@example.test")->local.size() == 2);  // deduplicated

  CHECK(s.add_alias("team@example.test", {"a@example.test"}).error() == Errc::exists);
  CHECK(s.add_alias("a@example.test", {"b@example.test"}).error() == Errc::exists);  // an account
  CHECK(s.add_alias("x@nope.test", {"a@example.test"}).error() == Errc::unknown_domain);
  CHECK(s.add_alias("x@example.test", {"not-an-address"}).error() == Errc::invalid_address);
  CHECK(s.add_alias("x@example.test", {}).error() == Errc::invalid_argument);
  CHECK(s.add_alias("x@example.test", {"ghost@example.test"}).error() == Errc::no_such_user);

  // Loops: direct, indirect, and through the catch-all.
  REQUIRE(s.add_alias("l1@example.test", {"a@example.test"}));
  CHECK(s.add_alias("l2@example.test", {"l2@example.test"}).error() == Errc::alias_loop);
  REQUIRE(s.add_alias("l3@example.test", {"l1@example.test"}));
  REQUIRE(s.del_alias("l1@example.test"));
  // l1 → l3 → l1 would loop; (l3 now points to a missing l1, so recreate l1 → l3)
  CHECK(s.add_alias("l1@example.test", {"l3@example.test"}).error() == Errc::alias_loop);
  CHECK(s.add_alias("@example.test", {"nobody@example.test"}).error() == Errc::alias_loop);
  CHECK(s.list_aliases("example.test")->size() == 3);  // team, all, l3

  // Catch-all.
  REQUIRE(s.add_alias("@example.test", {"b@example.test"}));
  r = s.resolve("whoever@example.test");
  REQUIRE(r);
  CHECK(r->local.at(0).account == bob);
  CHECK(s.resolve("a@example.test")->local.at(0).account == f.alice);  // account wins

  // Depth bound: a chain longer than kMaxAliasDepth is refused.
  std::string prev = "a@example.test";
  bool refused = false;
  for (int i = 0; i < Store::kMaxAliasDepth + 2; ++i) {
    std::string src = "chain" + std::to_string(i) + "@example.test";
    auto res = s.add_alias(src, {prev});
    if (!res) {
      CHECK(res.error() == Errc::alias_loop);
      refused = true;
      break;
    }
    prev = src;
  }
  CHECK(refused);

  // Disabled.
  REQUIRE(s.set_enabled("b@example.test", false));
  CHECK(s.resolve("b@example.test").error() == Errc::account_disabled);
  r = s.resolve("team@example.test");  // alice still gets it
  REQUIRE(r);
  CHECK(r->local.size() == 1);

  CHECK(s.del_alias("team@example.test"));
  CHECK(s.del_alias("team@example.test").error() == Errc::not_found);
}

TEST_CASE("admins", "[store]") {
  Fixture f;
  auto& s = *f.store;
  REQUIRE(s.add_admin(Admin{"root", "$y$x", true, {}}));
  REQUIRE(s.add_admin(Admin{"dom", "$y$y", false, {"Example.test"}}));
  CHECK(s.add_admin(Admin{"root", "$y$x", true, {}}).error() == Errc::exists);
  CHECK(s.add_admin(Admin{"x", "$y$x", false, {"nope.test"}}).error() == Errc::unknown_domain);
  CHECK(s.add_admin(Admin{"", "$y$x", true, {}}).error() == Errc::invalid_argument);
  auto d = s.get_admin("dom");
  REQUIRE(d);
  CHECK_FALSE(d->global);
  CHECK(d->domains == std::vector<std::string>{"example.test"});
  CHECK(s.list_admins()->size() == 2);
  REQUIRE(s.set_admin_password("root", "$y$z"));
  CHECK(s.get_admin("root")->password_hash == "$y$z");
  REQUIRE(s.del_admin("dom"));
  CHECK(s.get_admin("dom").error() == Errc::not_found);
}
