#include "message_content.hpp"

#include <algorithm>

#include "tern/mime/cache.hpp"
#include "tern/mime/imap.hpp"
#include "tern/mime/message.hpp"
#include "tern/mime/search.hpp"
#include "tern/mime/section.hpp"
#include "tern/mime/thread.hpp"

namespace tern::imapd {

namespace {

// A session queues at most this much parsed structure before it is written (FETCH
// writes mid-command past MimeCache::kFlushBytes; this only bounds a SEARCH or SORT
// over a huge mailbox, whose later structures are then parsed again next time).
constexpr std::size_t kMaxPendingBytes = 32u << 20;
// First read when only the header is wanted (most headers are a few KiB).
constexpr std::uint64_t kHeaderRead = 16 * 1024;

}  // namespace

std::optional<MessageContent> MessageContent::load(store::Store& s, store::MailboxId mb, store::Uid uid,
                                                   MimeCache* cache) {
  auto r = s.get_message(mb, uid);
  if (!r) return std::nullopt;
  return open(s, mb, uid, r->blob, r->size, cache);
}

MessageContent MessageContent::open(store::Store& s, store::MailboxId mb, store::Uid uid, store::BlobId blob,
                                    std::uint64_t size, MimeCache* cache) {
  MessageContent c;
  c.store_ = &s;
  c.mb_ = mb;
  c.uid_ = uid;
  c.blob_ = blob;
  c.size_ = size;
  c.cache_ = cache;
  return c;
}

MessageContent::MessageContent(std::string bytes) : size_(bytes.size()), bytes_(std::move(bytes)) {}
MessageContent::~MessageContent() = default;
MessageContent::MessageContent(MessageContent&&) noexcept = default;
MessageContent& MessageContent::operator=(MessageContent&&) noexcept = default;

void MessageContent::load_bytes() const {
  if (bytes_) return;
  auto r = store_ ? store_->read_message_string(mb_, uid_) : store::Result<std::string>(store::Errc::not_found);
  bytes_ = r ? std::move(*r) : std::string();
}

std::string_view MessageContent::bytes() const {
  load_bytes();
  return *bytes_;
}

const mime::CachedStructure* MessageContent::cached_structure() const {
  if (structure_) return structure_.get();
  if (cache_looked_ || !store_ || !blob_) return nullptr;
  cache_looked_ = true;
  auto r = store_->get_blob_meta(blob_);
  if (!r || !r->has_value()) return nullptr;
  auto c = mime::deserialize(**r);
  // Another format version or damaged bytes: parse again (and overwrite).
  if (!c || c->message_size != size_) return nullptr;
  structure_ = std::make_unique<mime::CachedStructure>(std::move(*c));
  if (cache_) ++cache_->cache_hits;
  return structure_.get();
}

const mime::CachedStructure& MessageContent::structure() const {
  if (const auto* c = cached_structure()) return *c;
  load_bytes();
  structure_ = std::make_unique<mime::CachedStructure>(mime::build_cached(*bytes_));
  if (cache_) {
    ++cache_->parses;
    if (blob_ && bytes_->size() == size_ && cache_->pending_bytes < kMaxPendingBytes) {
      std::string ser = mime::serialize(*structure_);
      if (ser.size() <= mime::kMaxCachedBytes) {
        cache_->pending_bytes += ser.size();
        cache_->pending.emplace_back(blob_, std::move(ser));
      }
    }
  }
  return *structure_;
}

void MessageContent::scan_header() const {
  if (root_header_) return;
  std::uint64_t want = kHeaderRead;
  std::string h;
  std::size_t header_end = 0, body_begin = 0;
  std::vector<mime::HeaderField> fields;
  for (;;) {
    h.clear();
    read_range(0, want, h);
    fields = mime::parse_header(h, 0, h.size(), &header_end, &body_begin);
    // Complete when the blank line lies inside what was read, or all of it was read.
    if (body_begin < h.size() || h.size() < want || want >= size_) break;
    want *= 4;
  }
  root_header_ = std::make_unique<mime::Message>();
  root_header_->root.headers = std::move(fields);
  root_header_->root.header_end = header_end;
  root_header_->root.body_begin = body_begin;
  root_header_->root.body_end = size_;
  body_begin_ = body_begin;
  h.resize(std::min<std::size_t>(body_begin, h.size()));
  header_ = std::move(h);
}

const mime::Message& MessageContent::message() const { return structure().message; }

std::string_view MessageContent::header_bytes() const {
  if (bytes_ || structure_) {
    const auto& root = message().root;
    if (bytes_) return std::string_view(*bytes_).substr(0, std::min<std::size_t>(root.body_begin, bytes_->size()));
  }
  if (!header_) {
    if (const auto* c = cached_structure()) {
      std::string h;
      read_range(0, c->message.root.body_begin, h);
      header_ = std::move(h);
    } else {
      scan_header();
    }
  }
  return *header_;
}

bool MessageContent::read_range(std::uint64_t offset, std::uint64_t length, std::string& out) const {
  if (bytes_ || !store_) {
    std::string_view b = bytes_ ? std::string_view(*bytes_) : std::string_view();
    if (offset < b.size()) out.append(b.substr(static_cast<std::size_t>(offset), static_cast<std::size_t>(
                                                                                      std::min<std::uint64_t>(length, b.size() - offset))));
    return true;
  }
  auto r = store_->read_message_range(mb_, uid_, offset, length, [&](std::string_view chunk) {
    out.append(chunk);
    return true;
  });
  return static_cast<bool>(r);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> MessageContent::section_range(const imap::Section& s,
                                                                                     bool& exists) const {
  using Spec = imap::Section::Spec;
  exists = true;
  if (s.part.empty() && s.spec == Spec::None) return std::pair<std::uint64_t, std::uint64_t>{0, size_};
  if (s.spec == Spec::HeaderFields || s.spec == Spec::HeaderFieldsNot) return std::nullopt;
  using R = std::pair<std::uint64_t, std::uint64_t>;
  if (s.part.empty() && !bytes_ && !cached_structure()) {
    // HEADER or TEXT of the message itself: its header alone says where they lie
    // (BODY[TEXT]<0.100> of a 20 MiB message that was never parsed reads 16 KiB).
    scan_header();
    if (s.spec == Spec::Header) return R{0, body_begin_};
    if (s.spec == Spec::Text) return R{body_begin_, size_};
  }
  const mime::Part* p = mime::find_part(message(), s.part);
  if (!p) {
    exists = false;
    return std::nullopt;
  }
  switch (s.spec) {
    case Spec::None: return R{p->body_begin, p->body_end};
    case Spec::Mime: return R{p->header_begin, p->body_begin};
    case Spec::Header:
    case Spec::Text: {
      // HEADER and TEXT: of the message itself or of a message/rfc822 part.
      const mime::Part* e = p;
      if (!s.part.empty()) {
        if (p->kind != mime::PartKind::message || p->children.empty()) {
          exists = false;
          return std::nullopt;
        }
        e = &p->children[0];
      }
      if (s.spec == Spec::Header) return R{e->header_begin, e->body_begin};
      return R{e->body_begin, e->body_end};
    }
    default: return std::nullopt;
  }
}

std::optional<std::string> MessageContent::section(const imap::Section& s) const {
  using Spec = imap::Section::Spec;
  using T = mime::Section::Text;
  bool exists = true;
  if (auto r = section_range(s, exists)) {
    std::string out;
    read_range(r->first, r->second - r->first, out);
    return out;
  }
  if (!exists) return std::nullopt;
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
  // HEADER.FIELDS of the message itself needs its header only (not even a parse of
  // the whole message when nothing is cached).
  if (s.part.empty()) {
    if (!bytes_ && !cached_structure()) {
      scan_header();
      return mime::extract_section(*header_, *root_header_, ms);
    }
    return mime::extract_section(header_bytes(), message(), ms);
  }
  return mime::extract_section(bytes(), message(), ms);
}

std::optional<std::string> MessageContent::binary(const std::vector<std::uint32_t>& part,
                                                  std::string& error) const {
  if (part.empty()) return std::string(bytes());
  const mime::Part* p = mime::find_part(message(), part);
  if (!p) return std::nullopt;
  std::string body;
  read_range(p->body_begin, p->body_size(), body);
  if (p->kind != mime::PartKind::leaf) return body;  // RFC 3516: only leaves are decoded
  auto d = mime::decode_transfer(body, p->encoding.value_or("7bit"));
  if (!d) {
    error = "UNKNOWN-CTE";
    return std::nullopt;
  }
  return std::move(*d);
}

std::string MessageContent::envelope() const { return structure().envelope; }

std::string MessageContent::body_structure(bool extended) const {
  return extended ? structure().body_structure : structure().body;
}

bool MessageContent::header_contains(std::string_view field, std::string_view needle) const {
  return mime::header_contains(header_bytes(), message().root, field, mime::TextNeedle(needle));
}

bool MessageContent::body_contains(std::string_view needle) const {
  return mime::body_contains(bytes(), message(), mime::TextNeedle(needle));
}

bool MessageContent::text_contains(std::string_view needle) const {
  return mime::text_contains(bytes(), message(), mime::TextNeedle(needle));
}

long long MessageContent::sent_date(long long internal_date) const {
  return mime::sent_date(header_bytes(), message().root, internal_date);
}

long long MessageContent::sent_local_date(long long internal_date) const {
  // RFC 9051 §6.4.4 SENTBEFORE etc.: the Date header's date "disregarding time and
  // timezone", i.e. the calendar date as written: UTC time plus the written offset.
  auto raw = message().root.header(header_bytes(), "Date");
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

}  // namespace tern::imapd
