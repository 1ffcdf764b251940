#include "tern/dkim/signer.hpp"

#include "crypto.hpp"
#include "tern/dkim/message.hpp"
#include "tern/util/base64.hpp"

namespace tern::dkim {
namespace {

bool set_err(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return false;
}

// d=, s= and i= domain parts: dot-separated labels of letters, digits and hyphens
// (RFC 6376 §3.5 sub-domain / selector), so that nothing can break the tag list.
bool valid_domainish(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_';
    if (!ok) return false;
  }
  return s.front() != '.' && s.back() != '.';
}

bool valid_identity(std::string_view s) {
  std::size_t at = s.rfind('@');
  if (at == std::string_view::npos || !valid_domainish(s.substr(at + 1))) return false;
  for (char c : s.substr(0, at)) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ';') return false;
  }
  return true;
}

// Builds a folded header field: tokens are joined with SP, or with CRLF TAB when the
// line would pass kWidth columns.
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)), col_(out_.size()) {}
  void add(std::string_view tok, bool space = true) {
    std::size_t sep = space ? 1 : 0;
    if (col_ + sep + tok.size() > kWidth && col_ > 1) {
      out_ += "\r\n\t";
      col_ = 1;
    } else if (space) {
      out_ += ' ';
      ++col_;
    }
    out_ += tok;
    col_ += tok.size();
  }
  // Append `text` (no spaces inside) split over lines, continuing the current line.
  void add_split(std::string_view text) {
    while (!text.empty()) {
      if (col_ >= kWidth) {
        out_ += "\r\n\t";
        col_ = 1;
      }
      std::size_t n = std::min(text.size(), kWidth - col_);
      out_ += text.substr(0, n);
      col_ += n;
      text.remove_prefix(n);
    }
  }
  const std::string& str() const { return out_; }

 private:
  static constexpr std::size_t kWidth = 76;
  std::string out_;
  std::size_t col_;
};

}  // namespace

const std::vector<std::string>& default_signed_headers() {
  static const std::vector<std::string> h = {
      "from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to", "references",
      "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
      "content-language", "list-id", "list-unsubscribe", "list-unsubscribe-post", "sender",
      "resent-date", "resent-from", "resent-to", "resent-cc", "resent-message-id", "autocrypt",
      "openpgp"};
  return h;
}

const std::vector<std::string>& default_oversigned_headers() {
  static const std::vector<std::string> h = {"from", "reply-to", "subject", "date", "to", "cc"};
  return h;
}

std::optional<std::string> sign(std::string_view message, const PrivateKey& key, const SignOptions& o,
                                std::string* error) {
  if (!valid_domainish(o.domain) || !valid_domainish(o.selector)) {
    set_err(error, "DKIM domain or selector is empty or has characters outside [A-Za-z0-9.-_]");
    return std::nullopt;
  }
  if (!o.identity.empty() && !valid_identity(o.identity)) {
    set_err(error, "bad DKIM identity (i=)");
    return std::nullopt;
  }
  if (o.timestamp && o.expiration && *o.expiration <= *o.timestamp) {
    set_err(error, "DKIM expiration (x=) must be after the timestamp (t=)");
    return std::nullopt;
  }
  auto msg = split_message(message, error);
  if (!msg) return std::nullopt;

  // h=: each listed name as often as it occurs, then the oversigned names once more.
  std::vector<std::string> h;
  bool has_from = false;
  for (const std::string& name : o.headers) {
    std::string n = lower(name);
    bool dup = false;
    for (const std::string& x : h) dup = dup || x == n;
    if (dup) continue;
    for (const HeaderField& f : msg->headers)
      if (iequals(f.name, n)) h.push_back(n);
  }
  for (const HeaderField& f : msg->headers) has_from = has_from || iequals(f.name, "from");
  if (!has_from) {
    set_err(error, "the message has no From header field (RFC 6376 §5.4 requires signing it)");
    return std::nullopt;
  }
  bool from_listed = false;
  for (const std::string& x : h) from_listed = from_listed || x == "from";
  if (!from_listed) h.insert(h.begin(), "from");
  for (const std::string& name : o.oversign) h.push_back(lower(name));

  std::string bh = util::base64_encode(body_hash_sha256(msg->body, o.body_canon, o.body_length));

  const char* alg = key.type() == KeyType::ed25519 ? "a=ed25519-sha256;" : "a=rsa-sha256;";
  Folder f("DKIM-Signature: v=1;");
  f.add(alg);
  f.add("c=" + std::string(canon_name(o.header_canon)) + "/" + std::string(canon_name(o.body_canon)) + ";");
  f.add("d=" + o.domain + ";");
  f.add("s=" + o.selector + ";");
  if (o.timestamp) f.add("t=" + std::to_string(*o.timestamp) + ";");
  if (o.expiration) f.add("x=" + std::to_string(*o.expiration) + ";");
  if (o.body_length) f.add("l=" + std::to_string(*o.body_length) + ";");
  if (!o.identity.empty()) f.add("i=" + o.identity + ";");
  for (std::size_t i = 0; i < h.size(); ++i) {
    std::string tok = (i == 0 ? "h=" : ":") + h[i];
    if (i + 1 == h.size()) tok += ';';
    f.add(tok, i == 0);
  }
  f.add("bh=" + bh + ";");
  f.add("b=");
  // The signed data: the selected fields, then this field with an empty b= and no CRLF.
  std::string data = signed_header_data(*msg, h, o.header_canon);
  std::string self = canon_header(f.str(), o.header_canon);
  self.resize(self.size() - 2);
  data += self;
  auto sig = detail::evp_sign(key.type(), key.evp(), data);
  if (!sig) {
    set_err(error, "DKIM signing failed in OpenSSL");
    return std::nullopt;
  }
  f.add_split(util::base64_encode(*sig));
  return f.str() + "\r\n";
}

}  // namespace tern::dkim
