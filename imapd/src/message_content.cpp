#include "message_content.hpp"

#include <algorithm>
#include <cctype>

namespace tern::imapd {

// XXX: interim, until common/mime lands: top-level header/body split only.
struct MessageContent::Parsed {
  std::size_t header_end = 0;  // offset just past the blank line
  std::size_t body_start = 0;
};

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

std::optional<MessageContent> MessageContent::load(store::Store& s, store::MailboxId mb, store::Uid uid) {
  auto r = s.read_message_string(mb, uid);
  if (!r) return std::nullopt;
  return MessageContent(std::move(*r));
}

MessageContent::MessageContent(std::string bytes) : bytes_(std::move(bytes)) {}
MessageContent::~MessageContent() = default;
MessageContent::MessageContent(MessageContent&&) noexcept = default;
MessageContent& MessageContent::operator=(MessageContent&&) noexcept = default;

const MessageContent::Parsed& MessageContent::parsed() const {
  if (!parsed_) {
    parsed_ = std::make_unique<Parsed>();
    std::size_t p = 0;
    // The header ends at the first empty line.
    for (;;) {
      std::size_t lf = bytes_.find('\n', p);
      if (lf == std::string::npos) {
        parsed_->header_end = parsed_->body_start = bytes_.size();
        break;
      }
      std::string_view line(bytes_.data() + p, lf - p);
      if (line.empty() || line == "\r") {
        parsed_->header_end = parsed_->body_start = lf + 1;
        break;
      }
      p = lf + 1;
    }
  }
  return *parsed_;
}

std::optional<std::string> MessageContent::section(const imap::Section& s) const {
  const Parsed& p = parsed();
  if (!s.part.empty()) return std::nullopt;
  using Spec = imap::Section::Spec;
  if (s.spec == Spec::None) return bytes_;
  if (s.spec == Spec::Header) return bytes_.substr(0, p.header_end);
  if (s.spec == Spec::Text) return bytes_.substr(p.body_start);
  if (s.spec == Spec::HeaderFields || s.spec == Spec::HeaderFieldsNot) {
    std::string out;
    std::size_t pos = 0;
    bool keep = false;
    while (pos < p.header_end) {
      std::size_t lf = bytes_.find('\n', pos);
      std::size_t end = lf == std::string::npos ? bytes_.size() : lf + 1;
      std::string_view line(bytes_.data() + pos, end - pos);
      if (line == "\r\n" || line == "\n") break;
      if (line[0] != ' ' && line[0] != '\t') {
        std::size_t colon = line.find(':');
        std::string_view name = line.substr(0, colon == std::string_view::npos ? 0 : colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        bool listed = std::any_of(s.fields.begin(), s.fields.end(),
                                  [&](const std::string& f) { return ieq(f, name); });
        keep = s.spec == Spec::HeaderFields ? listed : !listed;
        if (colon == std::string_view::npos) keep = false;
      }
      if (keep) out.append(line);
      pos = end;
    }
    out += "\r\n";
    return out;
  }
  return std::nullopt;
}

std::optional<std::string> MessageContent::binary(const std::vector<std::uint32_t>& part,
                                                  std::string& error) const {
  if (part.empty()) return bytes_;
  error = "UNKNOWN-CTE";
  return std::nullopt;
}

std::string MessageContent::envelope() const { return "NIL"; }
std::string MessageContent::body_structure(bool) const { return "NIL"; }

bool MessageContent::header_contains(std::string_view field, std::string_view needle) const {
  imap::Section s;
  s.spec = imap::Section::Spec::HeaderFields;
  s.fields.emplace_back(field);
  auto h = section(s);
  if (!h || h->size() <= 2) return false;
  std::string hv = lower(h->substr(field.size() + 1));
  return hv.find(lower(needle)) != std::string::npos;
}

bool MessageContent::body_contains(std::string_view needle) const {
  const Parsed& p = parsed();
  return lower(std::string_view(bytes_).substr(p.body_start)).find(lower(needle)) != std::string::npos;
}

bool MessageContent::text_contains(std::string_view needle) const {
  return lower(bytes_).find(lower(needle)) != std::string::npos;
}

long long MessageContent::sent_date(long long internal_date) const { return internal_date; }

}  // namespace tern::imapd
