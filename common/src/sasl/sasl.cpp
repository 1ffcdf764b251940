// SASL server mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login-00),
// SCRAM-SHA-256 (RFC 7677, message syntax and computations of RFC 5802 §3, §5, §7).
#include "tern/sasl/sasl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <stdexcept>

#include "tern/util/base64.hpp"
#include "tern/util/digest.hpp"

namespace tern::sasl {
namespace {

using Kind = SaslStep::Kind;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Decodes one client response. "*" cancels (RFC 4954 §4, RFC 3501 §6.2.2, RFC 5034
// §4). The size check comes first so an attacker cannot make us allocate for a
// huge line (the protocol's line limit bounds it too).
struct Decoded {
  FailReason fail = FailReason::None;
  std::string data;
};
Decoded decode_response(std::string_view b64, std::size_t max_decoded) {
  Decoded d;
  if (b64 == "*") {
    d.fail = FailReason::Cancelled;
    return d;
  }
  if (util::base64_decoded_size(b64) > max_decoded) {
    d.fail = FailReason::TooLong;
    return d;
  }
  auto bytes = util::base64_decode(b64);
  if (!bytes) {
    d.fail = FailReason::Malformed;
    return d;
  }
  d.data = std::move(*bytes);
  return d;
}

// An initial response of "=" means "present but empty" (RFC 4954 §4, RFC 4959 §3).
Decoded decode_initial(std::string_view b64, std::size_t max_decoded) {
  if (b64 == "=") return Decoded{};
  return decode_response(b64, max_decoded);
}

SaslStep need_verify(std::string authzid, std::string authcid, std::string password) {
  SaslStep s;
  s.kind = Kind::NeedVerify;
  s.authzid = std::move(authzid);
  s.authcid = std::move(authcid);
  s.password = std::move(password);
  return s;
}

// We do not implement proxy authorization: an authzid is accepted only if it names
// the authenticating user itself (compared case-insensitively, as logins are).
bool authz_ok(std::string_view authzid, std::string_view authcid) {
  return authzid.empty() || iequals(authzid, authcid);
}

// ------------------------------------------------------------------ PLAIN
class Plain final : public SaslMechanism {
 public:
  explicit Plain(Options o) : opts_(std::move(o)) {}
  std::string_view name() const override { return "PLAIN"; }

  SaslStep start(std::optional<std::string_view> ir) override {
    if (!ir) {
      // RFC 4616 §2: the client sends the message after an empty challenge.
      state_ = State::WaitMessage;
      return SaslStep::challenge("");
    }
    state_ = State::Done;
    return finish(decode_initial(*ir, opts_.max_decoded));
  }

  SaslStep step(std::string_view line) override {
    if (state_ != State::WaitMessage) return SaslStep::failure(FailReason::Malformed);
    state_ = State::Done;
    return finish(decode_response(line, opts_.max_decoded));
  }

 private:
  // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, with authcid and
  // passwd non-empty and no NUL inside any of the three fields.
  static SaslStep finish(Decoded d) {
    if (d.fail != FailReason::None) return SaslStep::failure(d.fail);
    const std::string& m = d.data;
    auto n1 = m.find('\0');
    if (n1 == std::string::npos) return SaslStep::failure(FailReason::Malformed);
    auto n2 = m.find('\0', n1 + 1);
    if (n2 == std::string::npos) return SaslStep::failure(FailReason::Malformed);
    if (m.find('\0', n2 + 1) != std::string::npos) return SaslStep::failure(FailReason::Malformed);
    std::string authzid = m.substr(0, n1);
    std::string authcid = m.substr(n1 + 1, n2 - n1 - 1);
    std::string passwd = m.substr(n2 + 1);
    if (authcid.empty() || passwd.empty()) return SaslStep::failure(FailReason::Malformed);
    if (!authz_ok(authzid, authcid)) {
      SaslStep s = SaslStep::failure(FailReason::AuthzDenied);
      s.authzid = std::move(authzid);
      s.authcid = std::move(authcid);
      OPENSSL_cleanse(passwd.data(), passwd.size());
      return s;
    }
    return need_verify(std::move(authzid), std::move(authcid), std::move(passwd));
  }

  enum class State { Init, WaitMessage, Done };
  Options opts_;
  State state_ = State::Init;
};

// ------------------------------------------------------------------ LOGIN
// draft-murchison-sasl-login: the server prompts "Username:" then "Password:"; the
// client answers each with one base64 line. An initial response carries the user name.
class Login final : public SaslMechanism {
 public:
  explicit Login(Options o) : opts_(std::move(o)) {}
  std::string_view name() const override { return "LOGIN"; }

  SaslStep start(std::optional<std::string_view> ir) override {
    if (!ir) {
      state_ = State::WaitUser;
      return SaslStep::challenge(util::base64_encode("Username:"));
    }
    state_ = State::WaitUser;
    return take_user(decode_initial(*ir, opts_.max_decoded));
  }

  SaslStep step(std::string_view line) override {
    switch (state_) {
      case State::WaitUser:
        return take_user(decode_response(line, opts_.max_decoded));
      case State::WaitPassword: {
        state_ = State::Done;
        Decoded d = decode_response(line, opts_.max_decoded);
        if (d.fail != FailReason::None) return SaslStep::failure(d.fail);
        if (d.data.empty() || d.data.find('\0') != std::string::npos)
          return SaslStep::failure(FailReason::Malformed);
        return need_verify("", std::move(user_), std::move(d.data));
      }
      default:
        return SaslStep::failure(FailReason::Malformed);
    }
  }

 private:
  SaslStep take_user(Decoded d) {
    if (d.fail != FailReason::None) {
      state_ = State::Done;
      return SaslStep::failure(d.fail);
    }
    if (d.data.empty() || d.data.find('\0') != std::string::npos) {
      state_ = State::Done;
      return SaslStep::failure(FailReason::Malformed);
    }
    user_ = std::move(d.data);
    state_ = State::WaitPassword;
    return SaslStep::challenge(util::base64_encode("Password:"));
  }

  enum class State { Init, WaitUser, WaitPassword, Done };
  Options opts_;
  State state_ = State::Init;
  std::string user_;
};

// ------------------------------------------------------------------ SCRAM-SHA-256
using util::hmac_sha256;
using util::sha256;

// RFC 5802 §7 saslname: "=2C" stands for ',' and "=3D" for '='; any other '=' is
// invalid, and ',' or NUL cannot appear. Returns nullopt when malformed.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\0' || c == ',') return std::nullopt;
    if (c == '=') {
      std::string_view esc = s.substr(i, 3);
      if (esc == "=2C") out += ',';
      else if (esc == "=3D") out += '=';
      else return std::nullopt;
      i += 2;
      continue;
    }
    out += c;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (no ',').
bool printable_nonce(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  return true;
}

// Splits "a=1,b=2" into attributes; each must look like "<letter>=..."
std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto c = s.find(',', start);
    parts.push_back(s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return parts;
}

bool is_attr(std::string_view part, char name) {
  return part.size() >= 2 && part[0] == name && part[1] == '=';
}

class ScramSha256 final : public SaslMechanism {
 public:
  explicit ScramSha256(Options o) : opts_(std::move(o)) {}
  std::string_view name() const override { return "SCRAM-SHA-256"; }

  SaslStep start(std::optional<std::string_view> ir) override {
    if (!ir) {
      state_ = State::WaitClientFirst;
      return SaslStep::challenge("");
    }
    state_ = State::WaitClientFirst;
    return client_first(decode_initial(*ir, opts_.max_decoded));
  }

  SaslStep step(std::string_view line) override {
    switch (state_) {
      case State::WaitClientFirst:
        return client_first(decode_response(line, opts_.max_decoded));
      case State::WaitClientFinal:
        return client_final(decode_response(line, opts_.max_decoded));
      case State::WaitAck: {
        // After server-final (sent as a challenge, as SMTP RFC 4954 §4 and IMAP
        // RFC 3501 have no "additional data with success"), the client answers with
        // an empty response.
        state_ = State::Done;
        Decoded d = decode_response(line, opts_.max_decoded);
        if (d.fail != FailReason::None) return fail(d.fail);
        if (!d.data.empty()) return fail(FailReason::Malformed);
        SaslStep s;
        s.kind = Kind::Success;
        s.authzid = authzid_;
        s.authcid = user_;
        return s;
      }
      default:
        return SaslStep::failure(FailReason::Malformed);
    }
  }

 private:
  SaslStep fail(FailReason r) {
    state_ = State::Done;
    SaslStep s = SaslStep::failure(r);
    s.authcid = user_;
    s.authzid = authzid_;
    return s;
  }

  // RFC 5802 §7: client-first-message = gs2-header client-first-message-bare
  //   gs2-header = gs2-cbind-flag "," [ authzid ] ","
  //   client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
  SaslStep client_first(Decoded d) {
    if (d.fail != FailReason::None) return fail(d.fail);
    std::string_view m = d.data;
    if (m.empty()) return fail(FailReason::Malformed);
    // gs2-cbind-flag. "p=" asks for channel binding, which we do not offer (no -PLUS).
    if (m.starts_with("p=")) return fail(FailReason::Unsupported);
    if (!(m.starts_with("n,") || m.starts_with("y,"))) return fail(FailReason::Malformed);
    auto c2 = m.find(',', 2);
    if (c2 == std::string_view::npos) return fail(FailReason::Malformed);
    std::string_view authz = m.substr(2, c2 - 2);
    gs2_header_ = std::string(m.substr(0, c2 + 1));
    if (!authz.empty()) {
      if (!authz.starts_with("a=")) return fail(FailReason::Malformed);
      auto a = decode_saslname(authz.substr(2));
      if (!a) return fail(FailReason::Malformed);
      authzid_ = std::move(*a);
    }
    client_first_bare_ = std::string(m.substr(c2 + 1));
    auto parts = split_commas(client_first_bare_);
    // A mandatory extension "m=" we do not understand means failure (RFC 5802 §5.1).
    if (!parts.empty() && is_attr(parts[0], 'm')) return fail(FailReason::Unsupported);
    if (parts.size() < 2 || !is_attr(parts[0], 'n') || !is_attr(parts[1], 'r'))
      return fail(FailReason::Malformed);
    auto user = decode_saslname(parts[0].substr(2));
    if (!user) return fail(FailReason::Malformed);
    user_ = std::move(*user);
    std::string_view cnonce = parts[1].substr(2);
    if (!printable_nonce(cnonce)) return fail(FailReason::Malformed);
    if (!authz_ok(authzid_, user_)) return fail(FailReason::AuthzDenied);

    // The credential is looked up by the driver, off the io thread (NeedCredential).
    state_ = State::WaitCredential;
    SaslStep s;
    s.kind = Kind::NeedCredential;
    s.authcid = user_;
    s.authzid = authzid_;
    cnonce_ = std::string(cnonce);
    return s;
  }

 public:
  SaslStep credential(std::optional<auth::ScramCredential> c) override {
    if (state_ != State::WaitCredential) return SaslStep::failure(FailReason::Malformed);
    if (c && (c->stored_key.size() != 32 || c->server_key.size() != 32 || c->salt.empty() ||
              c->iterations == 0))
      c.reset();
    if (c) {
      cred_ = std::move(*c);
    } else {
      // Enumeration: an unknown login gets a server-first that looks like a real one (a
      // salt that is stable for the login, the usual iteration count) and a StoredKey
      // no proof can match; the exchange fails at the proof, as a wrong password does.
      fake_ = true;
      auth::ScramCredential f;
      f.salt = fake_scram_salt(opts_.fake_salt_secret,
                               opts_.canonical ? opts_.canonical(user_) : user_);
      f.iterations = opts_.fake_iterations ? opts_.fake_iterations : 4096;
      unsigned char rnd[64];
      if (RAND_bytes(rnd, sizeof rnd) != 1) return fail(FailReason::NoCredential);
      f.stored_key.assign(reinterpret_cast<char*>(rnd), 32);
      f.server_key.assign(reinterpret_cast<char*>(rnd) + 32, 32);
      cred_ = std::move(f);
    }
    std::string snonce = opts_.test_server_nonce;
    if (snonce.empty()) {
      unsigned char rnd[18];
      if (RAND_bytes(rnd, sizeof rnd) != 1) return fail(FailReason::NoCredential);
      snonce = util::base64_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
    }
    nonce_ = cnonce_ + snonce;
    server_first_ = "r=" + nonce_ + ",s=" + util::base64_encode(cred_->salt) +
                    ",i=" + std::to_string(cred_->iterations);
    state_ = State::WaitClientFinal;
    return SaslStep::challenge(util::base64_encode(server_first_));
  }

 private:
  // RFC 5802 §7: client-final-message = channel-binding "," nonce ["," extensions] "," proof
  SaslStep client_final(Decoded d) {
    if (d.fail != FailReason::None) return fail(d.fail);
    std::string_view m = d.data;
    auto pp = m.rfind(",p=");
    if (pp == std::string_view::npos) return fail(FailReason::Malformed);
    std::string_view without_proof = m.substr(0, pp);
    auto parts = split_commas(without_proof);
    if (parts.size() < 2 || !is_attr(parts[0], 'c') || !is_attr(parts[1], 'r'))
      return fail(FailReason::Malformed);
    // Without channel binding, c= is the base64 of the gs2-header itself (§6).
    if (parts[0].substr(2) != util::base64_encode(gs2_header_)) return fail(FailReason::Malformed);
    if (parts[1].substr(2) != nonce_) return fail(FailReason::Malformed);
    auto proof = util::base64_decode(m.substr(pp + 3));
    if (!proof || proof->size() != 32) return fail(FailReason::Malformed);

    // §3: AuthMessage = client-first-message-bare "," server-first-message ","
    //                   client-final-message-without-proof
    std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    std::string client_sig = hmac_sha256(cred_->stored_key, auth_message);
    std::string client_key(32, '\0');
    for (std::size_t i = 0; i < 32; ++i) client_key[i] = static_cast<char>((*proof)[i] ^ client_sig[i]);
    std::string stored = sha256(client_key);
    OPENSSL_cleanse(client_key.data(), client_key.size());
    if (fake_ || CRYPTO_memcmp(stored.data(), cred_->stored_key.data(), 32) != 0)
      return fail(fake_ ? FailReason::NoCredential : FailReason::BadCredentials);
    std::string server_sig = hmac_sha256(cred_->server_key, auth_message);
    state_ = State::WaitAck;
    return SaslStep::challenge(util::base64_encode("v=" + util::base64_encode(server_sig)));
  }

  enum class State { Init, WaitClientFirst, WaitCredential, WaitClientFinal, WaitAck, Done };
  Options opts_;
  State state_ = State::Init;
  bool fake_ = false;
  std::string gs2_header_, client_first_bare_, server_first_, nonce_, cnonce_;
  std::string user_, authzid_;
  std::optional<auth::ScramCredential> cred_;
};

const std::string& process_secret() {
  static const std::string s = [] {
    unsigned char rnd[32];
    if (RAND_bytes(rnd, sizeof rnd) != 1) throw std::runtime_error("RAND_bytes failed");
    return std::string(reinterpret_cast<char*>(rnd), sizeof rnd);
  }();
  return s;
}

}  // namespace

std::string fake_scram_salt(std::string_view secret, std::string_view login) {
  // Logins compare case-insensitively: "Bob" and "bob" get the same fake salt.
  std::string key = "tern scram fake salt:";
  for (unsigned char c : login) key += static_cast<char>(std::tolower(c));
  return hmac_sha256(secret.empty() ? std::string_view(process_secret()) : secret, key).substr(0, 16);
}

std::string_view reason_name(FailReason r) {
  switch (r) {
    case FailReason::None: return "none";
    case FailReason::Cancelled: return "cancelled";
    case FailReason::Malformed: return "malformed";
    case FailReason::TooLong: return "too long";
    case FailReason::BadCredentials: return "bad credentials";
    case FailReason::NoCredential: return "no credential";
    case FailReason::AuthzDenied: return "authzid denied";
    case FailReason::Unsupported: return "unsupported";
  }
  return "unknown";
}

std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name, Options opts) {
  if (iequals(name, "PLAIN")) return std::make_unique<Plain>(std::move(opts));
  if (iequals(name, "LOGIN")) return std::make_unique<Login>(std::move(opts));
  if (iequals(name, "SCRAM-SHA-256")) return std::make_unique<ScramSha256>(std::move(opts));
  return nullptr;
}

std::vector<std::string_view> mechanism_names(bool plaintext_ok) {
  if (!plaintext_ok) return {"SCRAM-SHA-256"};
  return {"SCRAM-SHA-256", "PLAIN", "LOGIN"};
}

}  // namespace tern::sasl
