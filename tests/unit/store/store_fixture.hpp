#pragma once
// Shared helpers for the store tests: a temp data_dir and a fresh store in it.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "tern/store/store.hpp"

namespace tern::store::test {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tern-store-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A store with domain example.test and account a@example.test.
struct Fixture {
  TempDir dir;
  StorePtr store;
  AccountId alice = 0;
  explicit Fixture(StoreOptions opt = {}) {
    auto s = Store::open(dir.path, opt);
    REQUIRE(s);
    store = std::move(*s);
    REQUIRE(store->add_domain("example.test"));
    auto a = store->add_account(NewAccount{"a@example.test", "$y$fake", std::nullopt, {}, true});
    REQUIRE(a);
    alice = *a;
  }
  MailboxId inbox(AccountId acct) {
    auto m = store->get_mailbox(acct, "INBOX");
    REQUIRE(m);
    return m->id;
  }
  DeliveryResult deliver(AccountId acct, std::string body, std::string mailbox = "INBOX") {
    DeliveryRequest r;
    r.body = std::move(body);
    r.targets.push_back(DeliveryTarget{acct, mailbox});
    auto res = store->deliver(r);
    REQUIRE(res);
    REQUIRE(res->targets.size() == 1);
    REQUIRE(!res->targets[0].error);
    return *res;
  }
  void require_clean() {
    auto issues = store->check(false);
    REQUIRE(issues);
    for (auto& i : *issues) UNSCOPED_INFO(i.what);
    REQUIRE(issues->empty());
  }
};

}  // namespace tern::store::test
