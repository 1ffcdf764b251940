// Store schema versions: a schema-1 store (before blob_meta and per-mailbox keywords)
// is migrated to the current version on open, keeping its data.
#include <lmdb.h>

#include "store_fixture.hpp"

using namespace tern::store;
using tern::store::test::TempDir;

namespace {

// Writes meta "schema" = version behind the store's back (as an older tern left it).
void set_schema(const std::filesystem::path& data_dir, unsigned char version) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 32);
  REQUIRE(mdb_env_open(env, (data_dir / "store").c_str(), 0, 0660) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
  unsigned char v[4] = {0, 0, 0, version};
  MDB_val k{6, const_cast<char*>("schema")}, d{4, v};
  REQUIRE(mdb_put(txn, dbi, &k, &d, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace

TEST_CASE("a schema-1 store is migrated to the current schema on open, data kept", "[store][schema]") {
  static_assert(kSchemaVersion == 4);  // 3: subscriptions apart (store_recent_subs_test), 4: MODSEQ index (store_changes_test)
  TempDir dir;
  BlobId blob = 0;
  MailboxId inbox = 0;
  {
    auto s = Store::open(dir.path);
    REQUIRE(s);
    auto& st = **s;
    REQUIRE(st.add_domain("example.test"));
    auto a = st.add_account(NewAccount{"a@example.test", "$y$fake", std::nullopt, {}, true});
    REQUIRE(a);
    DeliveryRequest r;
    r.body = "Subject: kept\r\n\r\nbody\r\n";
    r.targets.push_back(DeliveryTarget{*a, "INBOX"});
    auto d = st.deliver(r);
    REQUIRE(d);
    blob = d->blob;
    inbox = d->targets[0].mailbox;
    REQUIRE(st.put_blob_meta({{blob, "cached structure"}}));
    CHECK(st.stats()->schema_version == kSchemaVersion);
  }
  set_schema(dir.path, 1);
  {
    auto s = Store::open(dir.path);
    REQUIRE(s);
    auto& st = **s;
    CHECK(st.stats()->schema_version == kSchemaVersion);  // migrated
    CHECK(st.read_message_string(inbox, 1).value().find("Subject: kept") != std::string::npos);
    CHECK(**st.get_blob_meta(blob) == "cached structure");
    auto issues = st.check(false);
    REQUIRE(issues);
    CHECK(issues->empty());
  }
  // A newer store is refused (as an older binary refuses what we now write).
  set_schema(dir.path, kSchemaVersion + 1);
  auto s = Store::open(dir.path);
  REQUIRE_FALSE(s);
  CHECK(s.error() == Errc::schema_too_new);
}
