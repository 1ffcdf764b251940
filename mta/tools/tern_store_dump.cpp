// tern-store-dump (test-only): prints the messages of an account's mailbox through the
// store API, so integration tests can compare delivered mail byte for byte.
//   tern-store-dump --data-dir DIR ADDRESS [MAILBOX]     → for each message:
//     "=== uid=N size=S\n" then exactly S octets, then "\n"
//   tern-store-dump --data-dir DIR --queue               → one line per queue entry:
//     "id=N from=<s> to=<r> notify=.. orcpt=.. ret=.. envid=.. size=S" then the body
//   tern-store-dump --data-dir DIR --events              → "action sender recipient detail"
//   tern-store-dump --data-dir DIR --uids ADDRESS [MAILBOX]
//     → "uidvalidity=V uidnext=N messages=M" then one UID per line, ascending
//   tern-store-dump --data-dir DIR --expunge UID ADDRESS [MAILBOX]
//     → expunges that UID through Store::expunge, as an IMAP EXPUNGE/UID EXPUNGE does;
//       prints "expunged=UID" (exit 0) or "not found: UID" (exit 1)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "tern/store/store.hpp"

using namespace tern::store;

int main(int argc, char** argv) {
  std::string dir, address, mailbox = "INBOX";
  bool queue = false, events = false, uids_only = false;
  long long expunge_uid = -1;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--data-dir") && i + 1 < argc) dir = argv[++i];
    else if (!std::strcmp(argv[i], "--queue")) queue = true;
    else if (!std::strcmp(argv[i], "--events")) events = true;
    else if (!std::strcmp(argv[i], "--uids")) uids_only = true;
    else if (!std::strcmp(argv[i], "--expunge") && i + 1 < argc) {
      char* end = nullptr;
      expunge_uid = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || expunge_uid < 1 || expunge_uid > 0xffffffffll) {
        std::fprintf(stderr, "bad UID: %s\n", argv[i]);
        return 64;
      }
    }
    else if (address.empty()) address = argv[i];
    else mailbox = argv[i];
  }
  if (dir.empty() || (address.empty() && !queue && !events)) {
    std::fprintf(stderr,
                 "usage: tern-store-dump --data-dir DIR ([--uids | --expunge UID] ADDRESS [MAILBOX] | --queue | "
                 "--events)\n");
    return 64;
  }
  auto st = Store::open(dir);
  if (!st) {
    std::fprintf(stderr, "open: %s\n", st.error().message().c_str());
    return 1;
  }
  Store& s = **st;
  if (events) {
    auto ev = s.recent_events(100000);
    if (!ev) return 1;
    for (auto it = ev->rbegin(); it != ev->rend(); ++it)
      std::cout << event_action_name(it->action) << " <" << it->sender << "> <" << it->recipient << "> "
                << it->detail << "\n";
    return 0;
  }
  if (queue) {
    auto q = s.list_queue();
    if (!q) return 1;
    for (const auto& e : *q) {
      std::string body;
      (void)s.read_blob(e.blob, [&](std::string_view c) { body.append(c); return true; });
      std::cout << "=== id=" << e.id << " from=<" << e.sender << "> to=<" << e.recipient << "> notify="
                << e.dsn.notify << " orcpt=" << e.dsn.orcpt << " ret=" << e.dsn.ret << " envid=" << e.dsn.envid
                << " size=" << body.size() << "\n"
                << body << "\n";
    }
    return 0;
  }
  auto acc = s.get_account(address);
  if (!acc) {
    std::fprintf(stderr, "account %s: %s\n", address.c_str(), acc.error().message().c_str());
    return 1;
  }
  auto mb = s.get_mailbox(acc->id, mailbox);
  if (!mb) {
    std::fprintf(stderr, "mailbox %s: %s\n", mailbox.c_str(), mb.error().message().c_str());
    return 1;
  }
  if (expunge_uid > 0) {
    const Uid u = static_cast<Uid>(expunge_uid);
    auto r = s.expunge(mb->id, UidSet{UidRange{u, u}}, false);
    if (!r) {
      std::fprintf(stderr, "expunge: %s\n", r.error().message().c_str());
      return 1;
    }
    if (r->empty()) {
      std::cout << "not found: " << u << "\n";
      return 1;
    }
    for (Uid x : *r) std::cout << "expunged=" << x << "\n";
    return 0;
  }
  std::vector<Uid> uids;
  auto listed = s.for_each_message(mb->id, UidRange{}, [&](const MessageMeta& m) {
    uids.push_back(m.uid);
    return true;
  });
  if (!listed) {
    std::fprintf(stderr, "list %s: %s\n", mailbox.c_str(), listed.error().message().c_str());
    return 1;
  }
  if (uids_only) {
    std::cout << "uidvalidity=" << mb->uidvalidity << " uidnext=" << mb->uidnext << " messages=" << uids.size()
              << "\n";
    for (Uid u : uids) std::cout << u << "\n";
    return 0;
  }
  for (Uid u : uids) {
    auto body = s.read_message_string(mb->id, u);
    if (!body) return 1;
    std::cout << "=== uid=" << u << " size=" << body->size() << "\n" << *body << "\n";
  }
  return 0;
}
