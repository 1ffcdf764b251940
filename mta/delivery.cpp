// Local delivery and queueing of a received message.
// RFC 5321 §4.4: the delivering server adds Return-Path at final delivery and every
// server prepends a Received line; nothing else in the message changes (design §4).
#include "delivery.hpp"

#include "queue/srs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "autoreply.hpp"
#include "data_sink.hpp"
#include "tern/log/log.hpp"
#include "tern/smtp/address.hpp"
#include "tern/smtp/command.hpp"

namespace tern::mta {

using smtp::Reply;
namespace esc = smtp::esc;

std::string rfc5322_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string return_path_header(const MessageContext& m) {
  return "Return-Path: <" + m.sender.address() + ">\r\n";
}

bool helo_is_valid(std::string_view helo) {
  return !helo.empty() && helo.size() <= 255 && (smtp::is_domain(helo, false) || smtp::is_address_literal(helo));
}

std::string comment_quote(std::string_view s, std::size_t max) {
  // RFC 5322 §3.2.2: ctext is printable ASCII but "(", ")" and "\\", which need a
  // quoted-pair; anything else (controls, TAB, CR/LF, 8-bit, and ";") becomes "?".
  std::string r;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '(' || c == ')' || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c > 0x20 && c < 0x7f && c != ';') {  // ";" starts the date to naive parsers
      r += static_cast<char>(c);
    } else {
      r += '?';
    }
  }
  if (s.size() > max) r += "...";
  return r;
}

std::string received_header(const MessageContext& m) {
  // Received: from <helo> ([ip]) (TLS comment) by <host> (tern) with <proto> id <id>
  //   for <rcpt>; <date>     — "for" only with a single recipient, to not disclose Bcc.
  // RFC 5321 §4.4: the From-domain is a Domain or an address literal. A HELO argument
  // that is neither (TAB, "()[];", ...) would forge a hop: it goes quoted into the
  // TCP-info comment, after the client's address literal.
  std::string h = "Received: from ";
  if (m.helo.empty()) {
    h += "unknown ([" + m.peer_ip + "])\r\n";
  } else if (helo_is_valid(m.helo)) {
    h += m.helo + " ([" + m.peer_ip + "])\r\n";
  } else {
    const bool v6 = m.peer_ip.find(':') != std::string::npos;
    h += (m.peer_ip.empty() ? std::string("unknown") : (v6 ? "[IPv6:" : "[") + m.peer_ip + "]");
    h += " (helo=" + comment_quote(m.helo, 100) + ")\r\n";
  }
  if (m.tls)
    h += "\t(using " + m.tls->version + " with cipher " + m.tls->cipher + " (" + std::to_string(m.tls->bits) +
         " bits))\r\n";
  h += "\tby " + m.hostname + " (tern) with " + m.protocol + " id " + m.message_id;
  if (m.recipients.size() == 1) h += "\r\n\tfor <" + m.recipients[0].path.address() + ">";
  h += "; " + rfc5322_date(m.now) + "\r\n";
  return h;
}

namespace {

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : smtp::ascii_lower(address.substr(at + 1));
}

store::DsnParams dsn_of(const MessageContext& m, const Recipient& r) {
  store::DsnParams d;
  unsigned n = r.params.notify;
  if (n & smtp::notify_never) d.notify = "NEVER";
  else {
    std::vector<std::string> parts;
    if (n & smtp::notify_success) parts.push_back("SUCCESS");
    if (n & smtp::notify_failure) parts.push_back("FAILURE");
    if (n & smtp::notify_delay) parts.push_back("DELAY");
    for (std::size_t i = 0; i < parts.size(); ++i) d.notify += (i ? "," : "") + parts[i];
  }
  d.orcpt = r.params.orcpt;
  d.ret = m.params.ret == smtp::Ret::Full ? "FULL" : m.params.ret == smtp::Ret::Hdrs ? "HDRS" : "";
  d.envid = m.params.envid;
  return d;
}

}  // namespace

// True when a failed delivery is explained by a full disk (RFC 5321 §4.2.2 452,
// RFC 3463 4.3.1). LMDB reports a short write on a full file system as EIO, not
// ENOSPC, so an I/O error also counts when the spool's file system (data_dir) has
// less room left than twice the message plus 1 MiB.
static bool storage_exhausted(std::error_code ec, const Spool& body) {
  if (ec == store::Errc::disk_full || ec == store::Errc::map_full) return true;
  if (ec != store::Errc::io_error) return false;
  std::error_code fs_ec;
  auto space = std::filesystem::space(body.dir(), fs_ec);
  if (fs_ec) space = std::filesystem::space(body.dir().parent_path(), fs_ec);  // spool dir is made lazily
  if (fs_ec) return false;
  return space.available < 2 * body.size() + (1u << 20);
}

DeliveryOutcome deliver_message(store::Store& store, const MessageContext& m, const Spool& body,
                                std::vector<store::DeliveryEvent> pending_events) {
  DeliveryOutcome out;
  store::DeliveryRequest req;
  // RFC 8601 §4.1: Authentication-Results goes above the trace fields we add.
  req.prefix = return_path_header(m) + m.auth_results + received_header(m) + m.added_fields;
  if (m.body_override) req.body = *m.body_override;
  else if (body.in_file()) req.body_file = body.path();
  else req.body = body.memory();
  req.internal_date = static_cast<store::UnixTime>(m.now);
  req.events = std::move(pending_events);
  const std::string sender = m.sender.address();
  auto event = [&](std::string rcpt, store::EventAction a, std::string detail) {
    store::DeliveryEvent e;
    e.message_id = m.message_id;
    e.sender = sender;
    e.recipient = std::move(rcpt);
    e.action = a;
    e.detail = std::move(detail);
    req.events.push_back(std::move(e));
  };

  // Local targets, each account once (one copy per mailbox even if several RCPTs or
  // aliases reach it).
  std::set<store::AccountId> accounts;
  std::vector<std::pair<store::AccountId, std::string>> local;  // account, its address
  // For the result lines, one per request target / outbound entry, in their order.
  struct Dest {
    std::string to;       // the final address
    std::string orig_to;  // the RCPT it came from, when different (alias, catch-all)
    std::string note;     // "archive=<domain>"
  };
  std::vector<Dest> target_dest, outbound_dest;
  std::set<std::string> domains;  // local domains this message touches (archive)
  std::set<store::AccountId> junk;  // accounts whose copy goes to Junk ([checks] policy)
  for (const auto& r : m.recipients) {
    const std::string rcpt = r.path.address();
    event(rcpt, store::EventAction::accepted, "from " + m.peer_ip);
    bool to_junk = std::find(m.junk_domains.begin(), m.junk_domains.end(), domain_of(rcpt)) != m.junk_domains.end();
    for (const auto& l : r.route.local) {
      domains.insert(domain_of(l.address));
      if (to_junk) junk.insert(l.account);
      if (accounts.insert(l.account).second) {
        local.emplace_back(l.account, l.address);
        target_dest.push_back({l.address, smtp::iequals(l.address, rcpt) ? std::string() : rcpt, {}});
      }
    }
    for (const auto& remote : r.route.remote) {
      store::OutboundEntry o;
      o.sender = sender;
      o.recipient = remote;
      o.dsn = dsn_of(m, r);
      o.message_id = m.message_id;
      if (!r.route.relayed) {
        // A forwarder (alias to a remote address): not ours to DKIM-sign, and the
        // envelope sender is rewritten with SRS into the forwarding domain so the
        // destination's SPF check passes (queue/srs.hpp). Local senders and the
        // null sender stay as they are.
        o.flags |= store::kQueueForwarded;
        std::string fwd_domain = domain_of(rcpt);
        if (!sender.empty() && !store.domain_exists(domain_of(sender)) && !fwd_domain.empty()) {
          auto secret = store.srs_secret();
          if (secret) o.sender = queue::srs_forward(*secret, sender, fwd_domain, m.now);
          else spdlog::warn("{}: no SRS secret ({}); forwarding with the original sender", m.message_id, secret.error().message());
        }
      }
      req.outbound.push_back(o);
      outbound_dest.push_back({remote, smtp::iequals(remote, rcpt) ? std::string() : rcpt, r.route.relayed ? "relay" : ""});
      event(rcpt, r.route.relayed ? store::EventAction::queued : store::EventAction::forwarded,
            r.route.relayed ? "relay" : "forward to " + remote);
    }
  }
  // Mail sent from a local domain by its authenticated user is archived too.
  if (m.identity) domains.insert(domain_of(m.identity->address));
  for (const auto& [id, addr] : local) {
    store::DeliveryTarget t;
    t.account = id;
    if (junk.count(id)) t.mailbox = "Junk";  // falls back to INBOX if the user deleted Junk
    req.targets.push_back(t);
    event(addr, store::EventAction::delivered, t.mailbox);
  }
  // Per-domain archive copies, in the same transaction (the archive address is a local
  // account; a missing or non-local archive address is skipped with a log line).
  for (const auto& d : domains) {
    if (d.empty()) continue;
    auto arch = store.get_domain_archive(d);
    if (!arch || arch->empty()) continue;
    auto res = store.resolve(*arch);
    if (!res || res->local.empty()) {
      spdlog::warn("{}: archive address {} of domain {} does not resolve to a local account", m.message_id, *arch, d);
      continue;
    }
    for (const auto& l : res->local) {
      if (!accounts.insert(l.account).second) continue;
      store::DeliveryTarget t;
      t.account = l.account;
      req.targets.push_back(t);
      target_dest.push_back({l.address, {}, "archive=" + d});
      event(l.address, store::EventAction::delivered, "archive copy for " + d);
    }
  }

  // RFC 5321 §4.4: Return-Path belongs to final delivery only. A message that is only
  // relayed/forwarded is queued without it. XXX: a message with both local and remote
  // recipients shares one body (one transaction), so its queued copy starts with our
  // Return-Path line; the outbound client must drop that first line before sending.
  if (req.targets.empty()) req.prefix = m.auth_results + received_header(m) + m.added_fields;
  auto res = store.deliver(req);
  if (!res) {
    auto ec = res.error();
    out.detail = "store error: " + ec.message();
    if (storage_exhausted(ec, body))
      out.reply = Reply(452, esc::system_full, "Insufficient system storage, try again later");
    else
      out.reply = Reply(451, esc::system_temp, "Temporary local problem, try again later");
    spdlog::error("{}: deliver failed: {}", m.message_id, ec.message());
    return out;
  }
  unsigned quota_failed = 0, other_failed = 0;
  for (const auto& t : res->targets) {
    if (!t.error) ++out.delivered;
    else if (t.error == store::Errc::quota_exceeded) ++quota_failed;
    else ++other_failed;
  }
  // One result line per destination, key=value (Postfix: to=<final>, orig_to=<alias>).
  auto orig = [](const Dest& d) { return d.orig_to.empty() ? std::string() : " orig_to=<" + log::escape(d.orig_to) + ">"; };
  auto note = [](const Dest& d) { return d.note.empty() ? std::string() : " " + d.note; };
  for (std::size_t i = 0; i < res->targets.size() && i < target_dest.size(); ++i) {
    const auto& t = res->targets[i];
    const auto& d = target_dest[i];
    if (!t.error)
      spdlog::info("{}: status=delivered to=<{}>{} mailbox={} uid={}{}", m.message_id, log::escape(d.to), orig(d),
                   req.targets[i].mailbox, t.uid, note(d));
    else
      spdlog::info("{}: status=failed to=<{}>{} reason=\"{}\"{}", m.message_id, log::escape(d.to), orig(d),
                   t.error.message(), note(d));
  }
  for (std::size_t i = 0; i < res->queued.size() && i < outbound_dest.size(); ++i) {
    const auto& d = outbound_dest[i];
    spdlog::info("{}: status=queued to=<{}>{} queue_id={}{}", m.message_id, log::escape(d.to), orig(d), res->queued[i],
                 note(d));
  }
  out.queued = static_cast<unsigned>(res->queued.size());
  if (out.delivered == 0 && out.queued == 0) {
    if (quota_failed) {
      out.reply = Reply(452, esc::mailbox_full_temp, "Mailbox full, try again later");
      out.detail = "quota";
    } else {
      out.reply = Reply(451, esc::system_temp, "Temporary local problem, try again later");
      out.detail = "no target accepted the message";
    }
    return out;
  }
  if (quota_failed || other_failed) {
    // Some targets failed after RCPT was accepted: record it (a DSN to the sender is the
    // outbound side's job once bounces exist).
    std::vector<store::DeliveryEvent> ev;
    for (std::size_t i = 0; i < res->targets.size() && i < req.targets.size(); ++i) {
      if (!res->targets[i].error) continue;
      store::DeliveryEvent e;
      e.message_id = m.message_id;
      e.sender = sender;
      e.recipient = std::to_string(req.targets[i].account);
      e.action = store::EventAction::rejected;
      e.detail = res->targets[i].error.message();
      ev.push_back(e);
    }
    (void)store.add_events(ev);
  }
  // Auto-replies after the commit: they are new messages of their own.
  for (const auto& [id, addr] : local) {
    bool ok = false;
    for (std::size_t i = 0; i < req.targets.size(); ++i)
      if (req.targets[i].account == id && !res->targets[i].error) ok = true;
    if (ok && maybe_autoreply(store, m, body.head(), id, addr)) ++out.autoreplies;
  }
  out.reply = Reply(250, esc::ok, "Ok: queued as " + m.message_id);
  out.detail = "delivered=" + std::to_string(out.delivered) + " queued=" + std::to_string(out.queued);
  return out;
}

}  // namespace tern::mta
