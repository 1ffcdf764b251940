// The store's error category and enum names.
#include <string>

#include "tern/store/result.hpp"
#include "tern/store/types.hpp"

namespace tern::store {
namespace {

class StoreCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tern.store"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "success";
      case Errc::not_found: return "not found";
      case Errc::exists: return "already exists";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::invalid_address: return "malformed address";
      case Errc::unknown_domain: return "unknown domain";
      case Errc::no_such_user: return "no such user";
      case Errc::account_disabled: return "account disabled";
      case Errc::no_such_mailbox: return "no such mailbox";
      case Errc::quota_exceeded: return "quota exceeded";
      case Errc::alias_loop: return "alias loop";
      case Errc::not_permitted: return "not permitted";
      case Errc::schema_too_new: return "store schema is newer than this binary; upgrade tern";
      case Errc::map_full: return "store map full";
      case Errc::disk_full: return "disk full";
      case Errc::io_error: return "store I/O error";
      case Errc::busy: return "store busy";
      case Errc::corrupt: return "store record corrupt";
    }
    return "unknown store error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& store_category() noexcept {
  static const StoreCategory cat;
  return cat;
}

std::string_view special_use_name(SpecialUse u) {
  switch (u) {
    case SpecialUse::none: return "";
    case SpecialUse::sent: return "\\Sent";
    case SpecialUse::drafts: return "\\Drafts";
    case SpecialUse::junk: return "\\Junk";
    case SpecialUse::trash: return "\\Trash";
    case SpecialUse::archive: return "\\Archive";
    case SpecialUse::all: return "\\All";
    case SpecialUse::flagged: return "\\Flagged";
  }
  return "";
}

std::string_view event_action_name(EventAction a) {
  switch (a) {
    case EventAction::accepted: return "accepted";
    case EventAction::delivered: return "delivered";
    case EventAction::forwarded: return "forwarded";
    case EventAction::queued: return "queued";
    case EventAction::rejected: return "rejected";
    case EventAction::deferred: return "deferred";
    case EventAction::bounced: return "bounced";
    case EventAction::autoreplied: return "autoreplied";
  }
  return "unknown";
}

}  // namespace tern::store
