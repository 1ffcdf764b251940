// The store's transactions guard their invariants with TERN_ASSERT: a transaction used
// after commit, or a write transaction used on another thread than the one that began it
// (LMDB write transactions are thread-bound: never hold one across a co_await), aborts
// with file:line instead of handing LMDB a dead or foreign handle.
#include <catch2/catch.hpp>

#include <thread>

#include "../expect_abort.hpp"
#include "../../../store/src/lmdb/lmdb_store.hpp"
#include "store_fixture.hpp"

using namespace tern::store;
using tern::test::expect_abort;

namespace {

bool names(const std::string& err, const char* expr) {
  return tern::test::assert_message(err, expr, "store/src/lmdb/lmdb_env.cpp");
}

}  // namespace

TEST_CASE("store transactions: use after commit and a foreign thread abort", "[store][assert]") {
  // Each child opens its own store: an LMDB environment must not cross a fork().
  test::TempDir dir;
  const std::filesystem::path path = dir.path;
  for (const char* sub : {"a", "b", "c"}) std::filesystem::create_directories(path / sub);
  // A directory per child: a child that aborts holding the write lock leaves it behind.
  auto with_store = [path](const char* sub, auto body) {
    return [dir = path / sub, body] {
      auto s = Store::open(dir);
      if (!s) return;
      auto* lm = dynamic_cast<lmdb::LmdbStore*>(s->get());
      if (lm) body(lm);
    };
  };
  CHECK(names(expect_abort(with_store("a", [](lmdb::LmdbStore* lm) {
                lmdb::Txn t(lm->env(), true);
                t.commit();
                t.put(lm->db().meta, "k", "v");
              })),
              "t_ != nullptr"));
  CHECK(names(expect_abort(with_store("b", [](lmdb::LmdbStore* lm) {
                lmdb::Txn t(lm->env(), true);
                std::thread other([&] { (void)t.get(lm->db().meta, "schema"); });
                other.join();
              })),
              "!write_ || owner_ == std::this_thread::get_id()"));
  // A read transaction may move (MDB_NOTLS), and the legal use does not abort.
  CHECK(expect_abort(with_store("c", [](lmdb::LmdbStore* lm) {
          {
            lmdb::Txn r(lm->env(), false);
            std::thread other([&] { (void)r.get(lm->db().meta, "schema"); });
            other.join();
          }
          lmdb::Txn t(lm->env(), true);
          (void)t.get(lm->db().meta, "schema");
          t.abort();
        })) == "");
}
