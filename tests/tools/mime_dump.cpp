// tern-mime-dump FILE...: prints, for each message file, what tern-imapd answers for
// FETCH (ENVELOPE BODYSTRUCTURE BODY), one item per line:
//   FILE
//   ENVELOPE <wire text>
//   BODYSTRUCTURE <wire text>
//   BODY <wire text>
// Literals are written inline ("{n}\r\n..." with the raw octets), as on the wire.
// Used by tests/integration/test_mime_dovecot.py to compare with Dovecot.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "tern/mime/imap.hpp"
#include "tern/mime/message.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tern-mime-dump FILE...\n");
    return 64;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "tern-mime-dump: cannot read %s\n", argv[i]);
      return 66;
    }
    std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    tern::mime::Message m = tern::mime::parse(msg);
    std::cout << argv[i] << "\n";
    std::cout << "ENVELOPE " << tern::mime::envelope(msg, m.root) << "\n";
    std::cout << "BODYSTRUCTURE " << tern::mime::body_structure(msg, m.root, true) << "\n";
    std::cout << "BODY " << tern::mime::body_structure(msg, m.root, false) << "\n";
  }
  return 0;
}
