// tern-deliver: a test tool that delivers one message into a mailbox through the store
// API, exactly as given (no header added, no line-ending change), and prints
// "uidvalidity uid". Integration tests use it to put mail in before tern-mta exists
// and to store odd bodies (LF-only, no final newline) that SMTP would not produce.
//   tern-deliver --config FILE [--mailbox NAME] ADDRESS [FILE]   (FILE default: stdin)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "tern/config/config.hpp"
#include "tern/store/store.hpp"

int main(int argc, char** argv) {
  std::optional<std::filesystem::path> config_file;
  std::string mailbox = "INBOX";
  std::string address;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) config_file = argv[++i];
    else if (a == "--mailbox" && i + 1 < argc) mailbox = argv[++i];
    else if (address.empty()) address = a;
    else if (file.empty()) file = a;
    else {
      std::fprintf(stderr, "usage: tern-deliver --config FILE [--mailbox NAME] ADDRESS [FILE]\n");
      return 64;
    }
  }
  if (address.empty()) {
    std::fprintf(stderr, "usage: tern-deliver --config FILE [--mailbox NAME] ADDRESS [FILE]\n");
    return 64;
  }
  tern::config::Config cfg;
  try {
    cfg = tern::config::load_config_or_default(config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tern-deliver: %s\n", e.what());
    return 78;
  }
  std::string body;
  if (file.empty() || file == "-") {
    body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "tern-deliver: cannot read %s\n", file.c_str());
      return 66;
    }
    body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto store = tern::store::Store::open(cfg.data_dir);
  if (!store) {
    std::fprintf(stderr, "tern-deliver: store: %s\n", store.error().message().c_str());
    return 75;
  }
  auto acct = (*store)->get_account(address);
  if (!acct) {
    std::fprintf(stderr, "tern-deliver: %s: %s\n", address.c_str(), acct.error().message().c_str());
    return 67;
  }
  tern::store::DeliveryRequest req;
  req.body = std::move(body);
  tern::store::DeliveryTarget t;
  t.account = acct->id;
  t.mailbox = mailbox;
  t.fallback_to_inbox = false;
  req.targets.push_back(t);
  auto r = (*store)->deliver(req);
  if (!r) {
    std::fprintf(stderr, "tern-deliver: deliver: %s\n", r.error().message().c_str());
    return 75;
  }
  const auto& tr = r->targets.at(0);
  if (tr.error) {
    std::fprintf(stderr, "tern-deliver: %s: %s\n", address.c_str(), tr.error.message().c_str());
    return 73;
  }
  std::printf("%u %u\n", tr.uidvalidity, tr.uid);
  return 0;
}
