// libFuzzer target: the POP3 command parser and the session state machine.
// The input is split at LF into command lines; each goes through parse_command() and
// Session::handle_line(). Checks: no crash, every reply is CRLF-terminated lines, and
// the session never leaves a legal state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/pop3/command.hpp"
#include "tern/pop3/session.hpp"

using namespace tern::pop3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  SessionOptions o;
  o.hostname = "fuzz.test";
  o.stls_available = true;
  o.allow_plaintext_auth = (size % 2) == 0;
  o.sasl_mechanisms = {"PLAIN", "LOGIN", "SCRAM-SHA-256"};
  o.error_limit = 50;
  Session s(o);
  bool logged_in = false;
  std::size_t pos = 0;
  while (pos <= in.size() && s.state() != State::Closed) {
    std::size_t e = in.find('\n', pos);
    std::string_view line = in.substr(pos, e == std::string_view::npos ? in.size() - pos : e - pos);
    pos = e == std::string_view::npos ? in.size() + 1 : e + 1;
    (void)parse_command(line);
    std::string out;
    Action a = line.size() > kMaxCommandLine ? s.handle_too_long(out) : s.handle_line(line, out);
    switch (a.kind) {
      case Action::Kind::StartTls: s.on_tls_started(); break;
      case Action::Kind::Login:
      case Action::Kind::Authenticate:
        if (!logged_in && (line.size() % 3) == 0) {
          std::vector<MaildropMessage> md;
          for (std::uint32_t u = 1; u <= (line.size() % 5); ++u)
            md.push_back({u, u * 10, "1." + std::to_string(u)});
          s.on_login_ok("u", std::move(md), out);
          logged_in = true;
        } else {
          s.on_login_failed(RespCode::Auth, "authentication failed", out);
        }
        break;
      case Action::Kind::Retrieve:
        if (a.index >= s.maildrop().size() || s.maildrop()[a.index].uid != a.uid) std::abort();
        break;
      case Action::Kind::Update: s.on_update_done(true, out); break;
      default: break;
    }
    if (!out.empty() && (out.size() < 2 || out.substr(out.size() - 2) != "\r\n")) std::abort();
    if (!out.empty() && out[0] != '+' && out[0] != '-') std::abort();
  }
  return 0;
}
