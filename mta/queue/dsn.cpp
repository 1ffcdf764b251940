// RFC 3464 delivery status notifications (dsn.hpp).
#include "dsn.hpp"

#include "delivery.hpp"  // rfc5322_date
#include "tern/smtp/command.hpp"  // xtext_decode

namespace tern::mta::queue {

std::string_view to_string(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
  }
  return "failed";
}

std::string_view header_block(std::string_view m) {
  auto p = m.find("\r\n\r\n");
  if (p != std::string_view::npos) return m.substr(0, p + 2);
  p = m.find("\n\n");
  if (p != std::string_view::npos) return m.substr(0, p + 1);
  return m;
}

std::string status_of(int code, std::string_view esc) {
  if (!esc.empty()) return std::string(esc);
  if (code >= 500) return "5.0.0";
  if (code >= 400) return "4.0.0";
  return "2.0.0";
}

namespace {
// Header-safe single line (a reply text must not break the report's structure).
std::string one_line(std::string_view s) {
  std::string out;
  // Any control octet (CR, LF, NUL, ...) from a peer's reply or a decoded parameter
  // becomes a space: one header line, nothing injected.
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  if (out.size() > 900) out.resize(900);
  return out;
}
}  // namespace

std::string build_dsn(const DsnInput& in) {
  if (in.rcpts.empty()) return {};
  const std::string boundary = "=_tern-dsn-" + in.message_id;
  DsnAction kind = in.rcpts.front().action;
  std::string subject;
  std::string intro;
  switch (kind) {
    case DsnAction::failed:
      subject = "Undelivered Mail Returned to Sender";
      intro = "Your message could not be delivered to one or more recipients.\r\n"
              "It has been returned with the reasons below; it will not be retried.\r\n";
      break;
    case DsnAction::delayed:
      subject = "Delayed Mail (still being retried)";
      intro = "Your message has not been delivered yet to the recipients below.\r\n"
              "It is still in the queue and will be retried; you do not need to resend it.\r\n";
      break;
    case DsnAction::delivered:
    case DsnAction::relayed:
      subject = "Successful Mail Delivery Report";
      intro = "Your message was delivered (or passed on to a system that does not\r\n"
              "report delivery status) for the recipients below.\r\n";
      break;
  }
  // 3. below: the original whole (message/rfc822) or its headers (text/rfc822-headers),
  // RFC 3461 §4.3 RET. Without RET: whole for failures up to 1 MiB. With RET=FULL: whole
  // up to kMaxReturnedMessage; a larger one would double its size in the sender's
  // mailbox (or exceed the next hop's SIZE, and a bounce is never bounced), so only its
  // headers come back, and the notice says so (Postfix: bounce_size_limit).
  const bool too_big = in.original.size() > kMaxReturnedMessage;
  const bool full = (in.ret == "FULL" && !too_big) ||
                    (in.ret.empty() && kind == DsnAction::failed && in.original.size() <= (1u << 20));
  if (in.ret == "FULL" && too_big)
    intro += "The message is larger than " + std::to_string(kMaxReturnedMessage >> 20) +
             " MiB, so only its headers are returned.\r\n";
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\r\n";
  m += "To: <" + in.to + ">\r\n";
  m += "Subject: " + subject + "\r\n";
  m += "Date: " + rfc5322_date(in.now) + "\r\n";
  m += "Message-ID: <dsn." + in.message_id + "@" + in.reporting_mta + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
  m += "\r\nThis is a MIME-encapsulated delivery status notification.\r\n";
  // 1. Human-readable part: names each recipient and the reason.
  m += "\r\n--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n"
       "Content-Description: Notification\r\n\r\n";
  m += "This is the mail system at host " + in.reporting_mta + ".\r\n\r\n" + intro + "\r\n";
  for (const auto& r : in.rcpts) {
    m += "<" + r.final_recipient + ">: ";
    if (!r.remote_mta.empty()) m += "host " + r.remote_mta + " said: ";
    m += one_line(r.diagnostic) + "\r\n";
  }
  // 2. message/delivery-status (RFC 3464 §2.2, §2.3).
  m += "\r\n--" + boundary + "\r\nContent-Type: message/delivery-status\r\n"
       "Content-Description: Delivery report\r\n\r\n";
  m += "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
  if (!in.envid.empty()) m += "Original-Envelope-Id: " + one_line(in.envid) + "\r\n";
  if (in.arrival) m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\r\n";
  for (const auto& r : in.rcpts) {
    m += "\r\n";
    m += "Final-Recipient: rfc822; " + r.final_recipient + "\r\n";
    if (!r.orcpt.empty()) {
      auto semi = r.orcpt.find(';');
      if (semi != std::string::npos) {
        // ORCPT is kept xtext-encoded; the report gives the address itself (RFC 3464 §2.3.1).
        auto addr = r.orcpt.substr(semi + 1);
        auto decoded = smtp::xtext_decode(addr);
        m += "Original-Recipient: " + r.orcpt.substr(0, semi) + "; " + one_line(decoded ? *decoded : addr) + "\r\n";
      }
    }
    m += "Action: " + std::string(to_string(r.action)) + "\r\n";
    m += "Status: " + r.status + "\r\n";
    if (!r.remote_mta.empty()) m += "Remote-MTA: dns; " + r.remote_mta + "\r\n";
    if (!r.diagnostic.empty()) m += "Diagnostic-Code: smtp; " + one_line(r.diagnostic) + "\r\n";
    if (r.action == DsnAction::delayed && in.retry_until)
      m += "Will-Retry-Until: " + rfc5322_date(in.retry_until) + "\r\n";
  }
  // 3. The original (`full`: see above).
  if (full) {
    m += "\r\n--" + boundary + "\r\nContent-Type: message/rfc822\r\n"
         "Content-Description: Undelivered message\r\n\r\n";
    m += in.original;
    if (!in.original.ends_with("\r\n")) m += "\r\n";
  } else {
    m += "\r\n--" + boundary + "\r\nContent-Type: text/rfc822-headers\r\n"
         "Content-Description: Message headers\r\n\r\n";
    std::string_view h = header_block(in.original);
    m += h;
    if (!h.ends_with("\r\n")) m += "\r\n";
  }
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace tern::mta::queue
