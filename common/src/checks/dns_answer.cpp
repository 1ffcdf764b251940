#include "tern/checks/dns_answer.hpp"

namespace tern::checks {

std::string_view rr_type_name(RrType t) {
  switch (t) {
    case RrType::a: return "A";
    case RrType::ns: return "NS";
    case RrType::ptr: return "PTR";
    case RrType::mx: return "MX";
    case RrType::txt: return "TXT";
    case RrType::aaaa: return "AAAA";
  }
  return "?";
}

std::string normalize_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace tern::checks
