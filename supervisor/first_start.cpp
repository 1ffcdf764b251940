#include "first_start.hpp"

#include "tern/auth/password.hpp"
#include "tern/store/store.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace tern::supervisor {

std::string random_password() {
  static constexpr std::string_view alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  while (out.size() < 16) {
    unsigned char buf[32];
    if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("RAND_bytes failed");
    for (unsigned char b : buf) {
      // Rejection sampling keeps every character equally likely.
      if (b >= 256 - 256 % alphabet.size()) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == 16) break;
    }
  }
  return out;
}

FirstStart first_start(const std::filesystem::path& data_dir, bool demo) {
  std::error_code ec;
  if (std::filesystem::exists(data_dir / "store", ec)) return {};

  auto check = [](const auto& r, const char* what) {
    if (!r) throw std::runtime_error(std::string("first start: ") + what + ": " + r.error().message());
  };
  auto opened = store::Store::open(data_dir);
  check(opened, "cannot create the store");
  store::Store& st = **opened;
  if (!demo) return FirstStart{true, std::nullopt};

  FirstStartLogin login{"example.test", "demo@example.test", random_password(), "admin",
                        random_password()};
  check(st.add_domain(login.domain), "add domain");

  store::NewAccount acct;
  acct.address = login.mailbox;
  acct.password_hash = auth::hash_password(login.mailbox_password);
  auth::ScramCredential sc = auth::make_scram_credential(login.mailbox_password);
  acct.scram = store::ScramCredential{sc.salt, sc.iterations, sc.stored_key, sc.server_key};
  check(st.add_account(acct), "add mailbox");

  store::Admin admin;
  admin.name = login.admin;
  admin.password_hash = auth::hash_password(login.admin_password);
  check(st.add_admin(admin), "add admin");
  return FirstStart{true, login};
}

std::string first_steps(const std::filesystem::path& data_dir, const std::filesystem::path& config) {
  const std::string ctl = "ternctl --config " + config.string();
  return "\ntern: first start - created an empty store in " + data_dir.string() +
         " (no domain, mailbox or admin yet).\n"
         "      Create the first domain and admin:\n"
         "        " + ctl + " domain add example.com\n"
         "        " + ctl + " admin add admin --password-stdin\n"
         "      then mailboxes: " + ctl + " user add you@example.com --password-stdin\n\n";
}

}  // namespace tern::supervisor
