#include "cmd/util.hpp"

#include <algorithm>
#include <cctype>

#include "tern/log/log.hpp"

namespace tern::imapd {

std::string mailbox_name(const imap::Arg& a) {
  std::string n = a.text;
  if (n.size() >= 5) {
    std::string head = n.substr(0, 5);
    for (auto& ch : head) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (head == "INBOX" && (n.size() == 5 || n[5] == store::kHierarchyDelimiter))
      n.replace(0, 5, "INBOX");
  }
  return n;
}

void store_no(Session& s, const imap::Command& c, std::error_code ec, std::string_view what) {
  using store::Errc;
  std::string w(what);
  if (ec == Errc::no_such_mailbox || ec == Errc::not_found) {
    s.no(c, "[NONEXISTENT] " + w);
  } else if (ec == Errc::exists) {
    s.no(c, "[ALREADYEXISTS] Mailbox already exists");
  } else if (ec == Errc::quota_exceeded) {
    s.no(c, "[OVERQUOTA] Quota exceeded");
  } else if (ec == Errc::invalid_argument) {
    s.no(c, "[CANNOT] Invalid mailbox name or argument");
  } else if (ec == Errc::not_permitted) {
    s.no(c, "[CANNOT] Not permitted");
  } else if (store::is_temporary(ec)) {
    log::warn(s.id(), "imap {} store error: {}", c.name, ec.message());
    s.no(c, "[UNAVAILABLE] Temporary failure, try again later");
  } else {
    log::error(s.id(), "imap {} store error: {}", c.name, ec.message());
    s.no(c, "[SERVERBUG] Internal error");
  }
}

bool parse_u64(const imap::Arg& a, std::uint64_t& out) {
  if (!a.is_atom() || a.text.empty() || a.text.size() > 19) return false;
  std::uint64_t v = 0;
  for (char ch : a.text) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<unsigned>(ch - '0');
  }
  out = v;
  return true;
}

std::string uid_set_text(std::vector<store::Uid> uids) {
  std::sort(uids.begin(), uids.end());
  std::string r;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] <= uids[j] + 1) ++j;
    if (!r.empty()) r += ',';
    r += std::to_string(uids[i]);
    if (uids[j] != uids[i]) r += ":" + std::to_string(uids[j]);
    i = j + 1;
  }
  return r;
}

store::UidSet to_uid_set(std::vector<store::Uid> uids) {
  std::sort(uids.begin(), uids.end());
  store::UidSet r;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] <= uids[j] + 1) ++j;
    r.push_back({uids[i], uids[j]});
    i = j + 1;
  }
  return r;
}

}  // namespace tern::imapd
