#include "tern/dkim/verifier.hpp"

#include <charconv>
#include <map>

#include "crypto.hpp"
#include "tern/dkim/tag_list.hpp"
#include "tern/util/base64.hpp"

namespace tern::dkim {
namespace {

bool set_err(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
  return false;
}

template <class T>
bool parse_uint(std::string_view s, T& out, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

std::string_view trim_fws(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// A domain name as DKIM's d= takes it: labels of letters, digits, '-', '_' (§3.5).
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  char prev = '.';
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok || (c == '.' && prev == '.')) return false;
    prev = c;
  }
  return true;
}

// dkim-quoted-printable (§2.11): =XX escapes, FWS ignored.
std::optional<std::string> decode_dkim_qp(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      if (i + 2 >= s.size()) return std::nullopt;
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return std::nullopt;
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool domain_within(std::string_view sub, std::string_view parent) {
  if (iequals(sub, parent)) return true;
  return sub.size() > parent.size() && sub[sub.size() - parent.size() - 1] == '.' &&
         iequals(sub.substr(sub.size() - parent.size()), parent);
}

}  // namespace

std::string_view result_name(Result r) {
  switch (r) {
    case Result::none: return "none";
    case Result::pass: return "pass";
    case Result::fail: return "fail";
    case Result::neutral: return "neutral";
    case Result::policy: return "policy";
    case Result::temperror: return "temperror";
    case Result::permerror: return "permerror";
  }
  return "permerror";
}

std::optional<Signature> parse_signature(std::string_view value, std::string* error) {
  auto tags = parse_tag_list(value, error);
  if (!tags) return std::nullopt;
  auto need = [&](const char* n) -> const Tag* {
    const Tag* t = find_tag(*tags, n);
    if (!t) set_err(error, std::string("missing required tag ") + n + "=");
    return t;
  };
  Signature s;
  const Tag *v = need("v"), *a = need("a"), *b = v && a ? need("b") : nullptr;
  const Tag *bh = b ? need("bh") : nullptr, *d = bh ? need("d") : nullptr;
  const Tag *h = d ? need("h") : nullptr, *sel = h ? need("s") : nullptr;
  if (!sel) return std::nullopt;
  if (v->value != "1") return set_err(error, "v= is not 1"), std::nullopt;
  if (a->value == "rsa-sha256") {
    s.key_type = KeyType::rsa;
  } else if (a->value == "ed25519-sha256") {
    s.key_type = KeyType::ed25519;
  } else if (a->value == "rsa-sha1") {
    return set_err(error, "rsa-sha1 is not accepted (RFC 8301)"), std::nullopt;
  } else {
    return set_err(error, "unknown algorithm " + std::string(a->value)), std::nullopt;
  }
  s.algorithm = std::string(a->value);
  s.b_text = strip_fws(b->value);
  auto bd = util::base64_decode(s.b_text);
  auto bhd = util::base64_decode(strip_fws(bh->value));
  if (!bd || bd->empty()) return set_err(error, "b= is not base64"), std::nullopt;
  if (!bhd || bhd->size() != 32) return set_err(error, "bh= is not a base64 SHA-256 hash"), std::nullopt;
  s.b = std::move(*bd);
  s.bh = std::move(*bhd);
  if (!valid_domain(d->value)) return set_err(error, "bad d= domain"), std::nullopt;
  s.domain = lower(d->value);
  if (!valid_domain(sel->value)) return set_err(error, "bad s= selector"), std::nullopt;
  s.selector = lower(sel->value);
  // h=: names separated by ':' with FWS allowed around them; From must be there.
  std::string_view hv = h->value;
  bool from = false;
  while (true) {
    std::size_t c = hv.find(':');
    std::string_view name = trim_fws(hv.substr(0, c));
    if (name.empty()) return set_err(error, "empty name in h="), std::nullopt;
    for (char ch : name) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 33 || u > 126) return set_err(error, "bad name in h="), std::nullopt;
    }
    s.headers.push_back(lower(name));
    from = from || s.headers.back() == "from";
    if (s.headers.size() > 256) return set_err(error, "too many names in h="), std::nullopt;
    if (c == std::string_view::npos) break;
    hv.remove_prefix(c + 1);
  }
  if (!from) return set_err(error, "h= does not include From"), std::nullopt;
  if (const Tag* c = find_tag(*tags, "c")) {
    std::string_view cv = c->value;
    std::size_t slash = cv.find('/');
    std::string_view hc = cv.substr(0, slash);
    std::string_view bc = slash == std::string_view::npos ? "simple" : cv.substr(slash + 1);
    auto canon = [](std::string_view x, Canon& out) {
      if (x == "simple") out = Canon::simple;
      else if (x == "relaxed") out = Canon::relaxed;
      else return false;
      return true;
    };
    if (!canon(hc, s.header_canon) || !canon(bc, s.body_canon))
      return set_err(error, "bad c= canonicalization"), std::nullopt;
  }
  s.identity = "@" + s.domain;
  if (const Tag* i = find_tag(*tags, "i")) {
    std::string_view iv = i->value;
    std::size_t at = iv.rfind('@');
    if (at == std::string_view::npos) return set_err(error, "i= has no '@'"), std::nullopt;
    if (!domain_within(iv.substr(at + 1), s.domain))
      return set_err(error, "i= domain is not d= or a subdomain of it"), std::nullopt;
    s.identity = std::string(iv);
  }
  if (const Tag* l = find_tag(*tags, "l")) {
    std::uint64_t n = 0;
    if (!parse_uint(l->value, n, 19)) return set_err(error, "bad l= value"), std::nullopt;
    s.length = n;
  }
  if (const Tag* q = find_tag(*tags, "q")) {
    bool dns = false;
    std::string_view qv = q->value;
    while (!qv.empty()) {
      std::size_t c = qv.find(':');
      dns = dns || trim_fws(qv.substr(0, c)) == "dns/txt";
      if (c == std::string_view::npos) break;
      qv.remove_prefix(c + 1);
    }
    if (!dns) return set_err(error, "q= offers no dns/txt"), std::nullopt;
  }
  if (const Tag* t = find_tag(*tags, "t")) {
    std::int64_t n = 0;
    if (!parse_uint(t->value, n, 12)) return set_err(error, "bad t= value"), std::nullopt;
    s.timestamp = n;
  }
  if (const Tag* x = find_tag(*tags, "x")) {
    std::int64_t n = 0;
    if (!parse_uint(x->value, n, 12)) return set_err(error, "bad x= value"), std::nullopt;
    s.expiration = n;
    if (s.timestamp && n < *s.timestamp) return set_err(error, "x= is before t="), std::nullopt;
  }
  if (const Tag* z = find_tag(*tags, "z")) {
    std::string_view zv = z->value;
    while (!zv.empty() && s.copied.size() < 64) {
      std::size_t bar = zv.find('|');
      std::string_view item = trim_fws(zv.substr(0, bar));
      std::size_t colon = item.find(':');
      if (colon == std::string_view::npos) return set_err(error, "bad z= item"), std::nullopt;
      auto val = decode_dkim_qp(item.substr(colon + 1));
      if (!val) return set_err(error, "bad quoted-printable in z="), std::nullopt;
      s.copied.emplace_back(lower(trim_fws(item.substr(0, colon))), std::move(*val));
      if (bar == std::string_view::npos) break;
      zv.remove_prefix(bar + 1);
    }
  }
  return s;
}

std::optional<KeyRecord> parse_key_record(std::string_view txt, std::string* error) {
  if (txt.size() > 8192) return set_err(error, "key record too long"), std::nullopt;
  auto tags = parse_tag_list(txt, error);
  if (!tags) return std::nullopt;
  KeyRecord k;
  if (const Tag* v = find_tag(*tags, "v")) {
    if (v != &tags->front() || v->value != "DKIM1")
      return set_err(error, "v= of a key record must come first and be DKIM1"), std::nullopt;
  }
  if (const Tag* kt = find_tag(*tags, "k")) {
    auto t = parse_key_type(kt->value);
    if (!t) return set_err(error, "unknown key type k=" + std::string(kt->value)), std::nullopt;
    k.type = *t;
  }
  if (const Tag* h = find_tag(*tags, "h")) {
    bool sha256 = false;
    std::string_view hv = h->value;
    while (true) {
      std::size_t c = hv.find(':');
      sha256 = sha256 || trim_fws(hv.substr(0, c)) == "sha256";
      if (c == std::string_view::npos) break;
      hv.remove_prefix(c + 1);
    }
    if (!sha256) return set_err(error, "key record h= excludes sha256"), std::nullopt;
  }
  if (const Tag* st = find_tag(*tags, "s")) {
    bool ok = false;
    std::string_view sv = st->value;
    while (true) {
      std::size_t c = sv.find(':');
      auto x = trim_fws(sv.substr(0, c));
      ok = ok || x == "*" || x == "email";
      if (c == std::string_view::npos) break;
      sv.remove_prefix(c + 1);
    }
    if (!ok) return set_err(error, "key record is not for email (s=)"), std::nullopt;
  }
  if (const Tag* t = find_tag(*tags, "t")) {
    std::string_view tv = t->value;
    while (true) {
      std::size_t c = tv.find(':');
      auto x = trim_fws(tv.substr(0, c));
      k.testing = k.testing || x == "y";
      k.strict = k.strict || x == "s";
      if (c == std::string_view::npos) break;
      tv.remove_prefix(c + 1);
    }
  }
  const Tag* p = find_tag(*tags, "p");
  if (!p) return set_err(error, "key record has no p="), std::nullopt;
  k.p = strip_fws(p->value);
  return k;
}

Verifier::Verifier(std::string message_crlf) : text_(std::move(message_crlf)) {
  std::string err;
  msg_ = split_message(text_, &err);
  if (!msg_) return;
  for (std::size_t i = 0; i < msg_->headers.size() && entries_.size() < kMaxSignatures; ++i) {
    if (!iequals(msg_->headers[i].name, "dkim-signature")) continue;
    Entry e;
    e.field = i;
    std::string_view raw = msg_->headers[i].raw;
    e.sig = parse_signature(raw.substr(raw.find(':') + 1), &e.parse_error);
    entries_.push_back(std::move(e));
  }
}

std::vector<std::string> Verifier::key_queries() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    if (!e.sig) continue;
    std::string q = e.sig->selector + "._domainkey." + e.sig->domain;
    bool dup = false;
    for (const auto& x : out) dup = dup || x == q;
    if (!dup) out.push_back(std::move(q));
  }
  return out;
}

std::vector<SignatureResult> Verifier::verify(
    const std::function<const checks::DnsAnswer*(std::string_view)>& lookup, std::int64_t now,
    KeyCache* keys) const {
  std::vector<SignatureResult> out;
  if (!msg_) return out;
  std::map<std::tuple<int, std::uint64_t, bool>, std::pair<std::string, std::uint64_t>> body_hashes;
  for (const Entry& e : entries_) {
    SignatureResult r;
    auto done = [&](Result res, std::string why) {
      r.result = res;
      r.reason = std::move(why);
      out.push_back(std::move(r));
    };
    if (!e.sig) {
      // Best effort for the A-R properties of a broken signature.
      std::string_view raw = msg_->headers[e.field].raw;
      std::string ignored;
      if (auto tags = parse_tag_list(raw.substr(raw.find(':') + 1), &ignored)) {
        if (const Tag* d = find_tag(*tags, "d")) r.domain = lower(d->value);
        if (const Tag* s = find_tag(*tags, "s")) r.selector = std::string(s->value);
      }
      done(Result::permerror, "bad signature: " + e.parse_error);
      continue;
    }
    const Signature& s = *e.sig;
    r.domain = s.domain;
    r.selector = s.selector;
    r.identity = s.identity;
    r.algorithm = s.algorithm;
    r.b_prefix = s.b_text.substr(0, 8);
    if (s.expiration && *s.expiration < now) {
      done(Result::permerror, "signature expired");
      continue;
    }
    const std::string key_name = s.selector + "._domainkey." + s.domain;
    const checks::DnsAnswer* ans = lookup(key_name);
    if (!ans || ans->status == checks::DnsStatus::temperror) {
      done(Result::temperror, "key lookup failed temporarily");
      continue;
    }
    if (ans->status != checks::DnsStatus::ok || ans->records.empty()) {
      done(Result::permerror, "no key for signature");
      continue;
    }
    std::optional<KeyRecord> key;
    std::string kerr;
    for (const auto& rec : ans->records) {
      key = parse_key_record(rec.text, &kerr);
      if (key) break;
    }
    if (!key) {
      done(Result::permerror, "bad key record: " + kerr);
      continue;
    }
    r.testing = key->testing;
    if (key->type != s.key_type) {
      done(Result::permerror, "key type does not match a=");
      continue;
    }
    if (key->p.empty()) {
      done(Result::permerror, "key revoked");
      continue;
    }
    if (key->strict) {
      std::string_view id = s.identity;
      if (!iequals(id.substr(id.rfind('@') + 1), s.domain)) {
        done(Result::permerror, "key t=s requires i= domain to equal d=");
        continue;
      }
    }
    std::shared_ptr<const PublicKey> pub;
    if (keys) pub = keys->get(key_name, key->type, key->p, &kerr);
    else if (auto parsed = PublicKey::from_p(key->p, key->type, &kerr))
      pub = std::make_shared<const PublicKey>(std::move(*parsed));
    if (!pub) {
      done(Result::permerror, "bad key: " + kerr);
      continue;
    }
    r.key_bits = pub->bits();
    auto bkey = std::make_tuple(static_cast<int>(s.body_canon), s.length.value_or(0), s.length.has_value());
    auto it = body_hashes.find(bkey);
    if (it == body_hashes.end()) {
      std::uint64_t len = 0;
      std::string hsh = body_hash_sha256(msg_->body, s.body_canon, s.length, &len);
      it = body_hashes.emplace(bkey, std::make_pair(std::move(hsh), len)).first;
    }
    if (s.length && *s.length > it->second.second) {
      done(Result::fail, "l= is longer than the body");
      continue;
    }
    if (it->second.first != s.bh) {
      done(Result::fail, "body hash did not verify");
      continue;
    }
    // The signed data: the h= fields, then this field with the b= value removed.
    std::string data = signed_header_data(*msg_, s.headers, s.header_canon);
    std::string_view raw = msg_->headers[e.field].raw;
    std::size_t vstart = raw.find(':') + 1;
    std::string ignored;
    auto tags = parse_tag_list(raw.substr(vstart), &ignored);
    const Tag* b = find_tag(*tags, "b");
    std::string self = std::string(raw.substr(0, vstart + b->value_begin));
    self += raw.substr(vstart + b->value_end);
    self = canon_header(self, s.header_canon);
    self.resize(self.size() - 2);
    data += self;
    if (!detail::evp_verify(s.key_type, pub->evp(), data, s.b)) {
      std::string why = "signature did not verify";
      if (!s.copied.empty()) {  // z=: which fields changed since signing (diagnostic only)
        std::string changed;
        for (const auto& [name, val] : s.copied) {
          bool same = false;
          for (const auto& f : msg_->headers)
            if (iequals(f.name, name) &&
                canon_header(f.raw, Canon::relaxed) == canon_header(name + ":" + val, Canon::relaxed))
              same = true;
          if (!same) changed += (changed.empty() ? "" : ",") + name;
        }
        if (!changed.empty()) why += "; changed since signing: " + changed;
      }
      done(Result::fail, why);
      continue;
    }
    done(Result::pass, "");
  }
  return out;
}

}  // namespace tern::dkim
