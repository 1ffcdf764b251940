// Date and Message-ID for submitted messages that lack them (submission_fields.hpp).
#include "submission_fields.hpp"

#include <cstdio>
#include <random>

namespace tern::mta {
namespace {

bool field_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name[i]) return false;
  }
  // RFC 5322 §3.6.8: the name ends at the colon; obsolete syntax allows WSP before it.
  std::size_t p = name.size();
  while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
  return p < line.size() && line[p] == ':';
}

}  // namespace

std::optional<OriginationFields> find_origination_fields(std::string_view head, bool head_complete) {
  OriginationFields out;
  std::size_t pos = 0;
  for (;;) {
    auto nl = head.find('\n', pos);
    if (nl == std::string_view::npos) {
      // A last line without its end: part of the header block only if the message
      // ends here.
      if (!head_complete) return std::nullopt;
      nl = head.size();
    }
    std::string_view line = head.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return out;  // the blank line: end of the header block
    if (line.front() != ' ' && line.front() != '\t') {
      if (field_is(line, "date")) out.has_date = true;
      else if (field_is(line, "message-id")) out.has_message_id = true;
    }
    if (nl >= head.size()) return out;
    pos = nl + 1;
    if (pos >= head.size()) {
      if (!head_complete) return std::nullopt;
      return out;
    }
  }
}

std::string rfc5322_local_date(std::time_t t) {
  static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  localtime_r(&t, &tm);
  long off = tm.tm_gmtoff / 60;  // minutes east of UTC
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                sign, off / 60, off % 60);
  return buf;
}

std::string make_message_id(std::time_t t, std::string_view transaction_id, std::string_view hostname) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::snprintf(when, sizeof when, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::random_device rd;
  unsigned long long r = (static_cast<unsigned long long>(rd()) << 32) | rd();
  char rnd[24];
  std::snprintf(rnd, sizeof rnd, "%016llx", r);
  std::string id = "<";
  id += when;
  id += '.';
  if (!transaction_id.empty()) {
    id += transaction_id;
    id += '.';
  }
  id += rnd;
  id += '@';
  id += hostname;
  id += '>';
  return id;
}

std::string missing_origination_fields(std::string_view head, bool head_complete, std::time_t now,
                                       std::string_view transaction_id, std::string_view hostname) {
  auto f = find_origination_fields(head, head_complete);
  if (!f) return {};
  std::string out;
  if (!f->has_date) out += "Date: " + rfc5322_local_date(now) + "\r\n";
  if (!f->has_message_id) out += "Message-ID: " + make_message_id(now, transaction_id, hostname) + "\r\n";
  return out;
}

}  // namespace tern::mta
