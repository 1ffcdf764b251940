// RFC 3834 "Recommendations for Automatic Responses to Electronic Mail".
#include "autoreply.hpp"

#include <spdlog/spdlog.h>

#include "tern/smtp/address.hpp"

namespace tern::mta {

std::vector<std::pair<std::string, std::string>> parse_header_fields(std::string_view head) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto eol = head.find('\n', pos);
    std::string_view line = head.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? head.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    if ((line.front() == ' ' || line.front() == '\t')) {
      if (!out.empty()) out.back().second += " " + std::string(line.substr(line.find_first_not_of(" \t")));
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    out.emplace_back(std::move(name), std::string(v));
  }
  return out;
}

namespace {

std::string trim_lower(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return smtp::ascii_lower(s);
}

std::string field(const std::vector<std::pair<std::string, std::string>>& f, std::string_view name) {
  for (const auto& [n, v] : f)
    if (smtp::iequals(n, name)) return v;
  return {};
}

}  // namespace

std::string autoreply_suppressed(std::string_view envelope_sender, std::string_view head) {
  // §2: never respond to a message with a null return path (bounces, other replies).
  if (envelope_sender.empty()) return "null sender";
  std::string local = smtp::ascii_lower(envelope_sender.substr(0, envelope_sender.rfind('@')));
  if (local == "mailer-daemon" || local == "postmaster" || local.rfind("owner-", 0) == 0 ||
      (local.size() > 8 && local.compare(local.size() - 8, 8, "-request") == 0))
    return "robot sender";
  auto fields = parse_header_fields(head);
  for (const auto& [n, v] : fields) {
    std::string name = smtp::ascii_lower(n);
    // §2: Auto-Submitted with any value other than "no".
    if (name == "auto-submitted") {
      std::string val = trim_lower(v.substr(0, v.find(';')));
      if (val != "no") return "Auto-Submitted: " + val;
    }
    // §2: Precedence bulk / list / junk (a de-facto convention the RFC names).
    if (name == "precedence") {
      std::string val = trim_lower(v);
      if (val == "bulk" || val == "list" || val == "junk") return "Precedence: " + val;
    }
    // §2: List-* header fields (RFC 2369, 2919) mark mailing-list traffic.
    if (name.rfind("list-", 0) == 0) return n;
  }
  return {};
}

std::string build_autoreply(std::string_view from, std::string_view to, std::string_view subject,
                            std::string_view body, std::string_view original_head,
                            std::string_view message_id, std::time_t now) {
  auto fields = parse_header_fields(original_head);
  std::string orig_id = field(fields, "Message-ID");
  std::string refs = field(fields, "References");
  std::string m;
  m += "From: <" + std::string(from) + ">\r\n";
  m += "To: <" + std::string(to) + ">\r\n";
  m += "Subject: " + std::string(subject) + "\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "Message-ID: <" + std::string(message_id) + ">\r\n";
  // §3.1.5: In-Reply-To and References as in a normal reply.
  if (!orig_id.empty()) {
    m += "In-Reply-To: " + orig_id + "\r\n";
    m += "References: " + (refs.empty() ? orig_id : refs + " " + orig_id) + "\r\n";
  }
  // §5: mark it so other responders do not answer it.
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  // Body with CRLF line ends (the stored text may have LF only).
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) m += '\r';
    m += body[i];
  }
  if (!body.empty() && body.back() != '\n') m += "\r\n";
  return m;
}

bool maybe_autoreply(store::Store& store, const MessageContext& m, std::string_view head,
                     store::AccountId account, const std::string& account_address) {
  auto ar = store.get_autoreply(account_address);
  if (!ar || !ar->has_value()) return false;
  const std::string sender = m.sender.address();
  if (auto why = autoreply_suppressed(sender, head); !why.empty()) {
    spdlog::info("{}: no auto-reply from {} to <{}>: {}", m.message_id, account_address, sender, why);
    return false;
  }
  if (smtp::iequals(sender, account_address)) return false;  // never to oneself
  auto claim = store.claim_autoreply(account, sender, static_cast<store::UnixTime>(m.now));
  if (!claim || !*claim) return false;  // replied within `days` (RFC 3834 §5.2), or error
  const auto& rule = **ar;
  store::DeliveryRequest req;
  std::string id = m.message_id + ".ar." + std::to_string(account) + "@" + m.hostname;
  req.body = build_autoreply(account_address, sender, rule.subject, rule.body, head, id, m.now);
  // A local sender (or an alias of local accounts) gets the reply in its mailbox now,
  // in the same transaction; only remote addresses (the sender itself, or an alias's
  // forward targets) go through the outbound queue.
  std::vector<std::string> local_to;
  std::vector<std::string> remote_to;
  if (auto res = store.resolve(sender)) {
    for (const auto& l : res->local) {
      req.targets.emplace_back(l.account);
      local_to.push_back(l.address);
    }
    remote_to = res->remote;
  } else if (store::is_temporary(res.error())) {
    spdlog::warn("{}: auto-reply to <{}> skipped: {}", m.message_id, sender, res.error().message());
    return false;
  } else {
    remote_to.push_back(sender);  // not a local address
  }
  if (!req.targets.empty()) {
    // Final delivery: Return-Path <> (RFC 3834 §3.1.1 null sender) and our Received.
    req.prefix = "Return-Path: <>\r\nReceived: by " + m.hostname + " (tern) id " + m.message_id + ".ar; " +
                 rfc5322_date(m.now) + "\r\n";
  }
  for (const auto& r : remote_to) {
    store::OutboundEntry o;
    o.sender = "";  // RFC 3834 §3.1.1: null MAIL FROM
    o.recipient = r;
    o.message_id = m.message_id;
    o.flags = store::kQueueIsBounce;  // generated by us: never answered with a DSN
    req.outbound.push_back(o);
  }
  store::DeliveryEvent e;
  e.message_id = m.message_id;
  e.sender = account_address;
  e.recipient = sender;
  e.action = store::EventAction::autoreplied;
  e.detail = "vacation";
  req.events.push_back(e);
  if (req.targets.empty() && req.outbound.empty()) return false;
  if (req.targets.empty()) {
    auto q = store.enqueue(req);
    if (!q) {
      spdlog::warn("{}: auto-reply enqueue failed: {}", m.message_id, q.error().message());
      return false;
    }
    for (const auto& to : remote_to)
      spdlog::info("{}: auto-reply from {} status=queued to=<{}>", m.message_id, account_address, to);
    return true;
  }
  auto r = store.deliver(req);
  if (!r) {
    spdlog::warn("{}: auto-reply delivery failed: {}", m.message_id, r.error().message());
    return false;
  }
  for (std::size_t i = 0; i < local_to.size() && i < r->targets.size(); ++i) {
    if (r->targets[i].error)
      spdlog::info("{}: auto-reply from {} status=deferred to=<{}> reason=\"{}\"", m.message_id, account_address,
                   local_to[i], r->targets[i].error.message());
    else
      spdlog::info("{}: auto-reply from {} status=delivered to=<{}> mailbox=INBOX uid={}", m.message_id,
                   account_address, local_to[i], r->targets[i].uid);
  }
  for (const auto& to : remote_to)
    spdlog::info("{}: auto-reply from {} status=queued to=<{}>", m.message_id, account_address, to);
  return true;
}

}  // namespace tern::mta
