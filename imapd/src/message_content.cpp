#include "message_content.hpp"

#include "tern/mime/imap.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/search.hpp"
#include "tern/mime/section.hpp"
#include "tern/mime/thread.hpp"

namespace tern::imapd {

struct MessageContent::Parsed {
  mime::Message m;
};

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
    parsed_->m = mime::parse(bytes_);
  }
  return *parsed_;
}

std::optional<std::string> MessageContent::section(const imap::Section& s) const {
  using Spec = imap::Section::Spec;
  using T = mime::Section::Text;
  if (s.part.empty() && s.spec == Spec::None) return bytes_;
  mime::Section ms;
  ms.part = s.part;
  ms.fields = s.fields;
  switch (s.spec) {
    case Spec::None: ms.text = T::none; break;
    case Spec::Header: ms.text = T::header; break;
    case Spec::HeaderFields: ms.text = T::header_fields; break;
    case Spec::HeaderFieldsNot: ms.text = T::header_fields_not; break;
    case Spec::Text: ms.text = T::text; break;
    case Spec::Mime: ms.text = T::mime; break;
  }
  return mime::extract_section(bytes_, parsed().m, ms);
}

std::optional<std::string> MessageContent::binary(const std::vector<std::uint32_t>& part,
                                                  std::string& error) const {
  if (part.empty()) return bytes_;
  mime::BinaryResult r = mime::extract_binary(bytes_, parsed().m, part);
  if (r.error == mime::BinaryError::unknown_cte) {
    error = "UNKNOWN-CTE";
    return std::nullopt;
  }
  if (r.error != mime::BinaryError::none) return std::nullopt;
  return std::move(r.data);
}

std::string MessageContent::envelope() const { return mime::envelope(bytes_, parsed().m.root); }

std::string MessageContent::body_structure(bool extended) const {
  return mime::body_structure(bytes_, parsed().m.root, extended);
}

bool MessageContent::header_contains(std::string_view field, std::string_view needle) const {
  return mime::header_contains(bytes_, parsed().m.root, field, mime::TextNeedle(needle));
}

bool MessageContent::body_contains(std::string_view needle) const {
  return mime::body_contains(bytes_, parsed().m, mime::TextNeedle(needle));
}

bool MessageContent::text_contains(std::string_view needle) const {
  return mime::text_contains(bytes_, parsed().m, mime::TextNeedle(needle));
}

long long MessageContent::sent_date(long long internal_date) const {
  return mime::sent_date(bytes_, parsed().m.root, internal_date);
}

long long MessageContent::sent_local_date(long long internal_date) const {
  // RFC 9051 §6.4.4 SENTBEFORE etc.: the Date header's date "disregarding time and
  // timezone", i.e. the calendar date as written: UTC time plus the written offset.
  auto raw = parsed().m.root.header(bytes_, "Date");
  if (!raw) return internal_date;
  auto utc = mime::parse_date(*raw);
  if (!utc) return internal_date;
  std::string_view v = *raw;
  long long offset = 0;
  for (std::size_t i = v.size(); i-- > 0;) {
    if ((v[i] == '+' || v[i] == '-') && i + 5 <= v.size()) {
      bool digits = true;
      for (std::size_t k = 1; k <= 4; ++k) digits &= v[i + k] >= '0' && v[i + k] <= '9';
      if (digits) {
        long long hh = (v[i + 1] - '0') * 10 + (v[i + 2] - '0');
        long long mm = (v[i + 3] - '0') * 10 + (v[i + 4] - '0');
        offset = (hh * 3600 + mm * 60) * (v[i] == '-' ? -1 : 1);
        break;
      }
    }
  }
  return *utc + offset;
}

const mime::Message& MessageContent::message() const { return parsed().m; }

}  // namespace tern::imapd
