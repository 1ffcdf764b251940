// Delivery outcomes: retry schedule, bounces, notices (outcome.hpp).
#include "queue/outcome.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "delivery.hpp"
#include "queue/srs.hpp"

namespace tern::mta::queue {
namespace {

std::string upper(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

// RFC 3461 §4.1: absent NOTIFY = the MTA's choice; we send failures and delays.
bool notify_has(const store::QueueEntry& e, std::string_view what) {
  std::string n = upper(e.dsn.notify);
  if (n.empty()) return what == "FAILURE" || what == "DELAY";
  if (n.find("NEVER") != std::string::npos) return false;
  return n.find(what) != std::string::npos;
}

// Never notify the null sender, and never about a notice we generated.
bool may_notify(const store::QueueEntry& e) {
  return !e.sender.empty() && !(e.flags & store::kQueueIsBounce);
}

std::string reply_text(const smtp::Reply& r) {
  std::string s = r.summary();
  for (std::size_t i = 1; i < r.lines.size(); ++i) s += " " + r.lines[i];
  return s;
}

std::string domain_of(std::string_view a) {
  auto at = a.rfind('@');
  return at == std::string_view::npos ? std::string() : std::string(a.substr(at + 1));
}

}  // namespace

std::chrono::seconds retry_interval(const config::OutboundConfig& o, std::uint32_t attempts) {
  auto v = o.retry_min;
  for (std::uint32_t i = 0; i < attempts && v < o.retry_max; ++i) v *= 2;
  return std::min(v, o.retry_max);
}

OutcomePlan decide_outcome(const config::Config& cfg, const std::vector<RcptAttempt>& rcpts,
                           const AttemptInfo& info, std::time_t now) {
  OutcomePlan plan;
  // One DSN per kind (failed / delayed / relayed) and message.
  std::map<DsnAction, DsnJob> notices;
  auto add_notice = [&](DsnAction kind, const RcptAttempt& a, const std::string& status,
                        const std::string& diag) {
    auto& job = notices[kind];
    job.to = a.entry.sender;
    job.input.reporting_mta = cfg.hostname;
    job.input.to = a.entry.sender;
    job.input.envid = a.entry.dsn.envid;
    job.input.ret = upper(a.entry.dsn.ret);
    job.input.arrival = static_cast<std::time_t>(a.entry.created);
    job.input.now = now;
    job.input.retry_until = static_cast<std::time_t>(a.entry.created) + cfg.outbound.max_age.count();
    job.input.message_id = std::to_string(a.entry.id) + "." + std::to_string(now);
    job.input.rcpts.push_back({a.entry.recipient, a.entry.dsn.orcpt, kind, status, info.host, diag});
    job.entries.push_back(a.entry.id);
  };
  std::string where = info.host.empty() ? std::string("no connection")
                                        : "host " + info.host + "[" + info.address + "]";
  where += info.tls.empty() ? " tls=none" : " tls=" + info.tls;
  for (const auto& a : rcpts) {
    const auto& e = a.entry;
    store::DeliveryEvent ev;
    ev.message_id = e.message_id.empty() ? "Q" + std::to_string(e.id) : e.message_id;
    ev.sender = e.sender;
    ev.recipient = e.recipient;
    std::string text = reply_text(a.reply);
    std::string status = status_of(a.reply.code, a.reply.esc);
    if (a.reply.positive()) {
      plan.changes.push_back({e.id, store::QueueChange::Op::remove, 0, "", 0});
      ev.action = store::EventAction::delivered;
      ev.detail = where + " reply=" + text;
      ++plan.delivered;
      if (a.relayed_without_dsn && may_notify(e) && notify_has(e, "SUCCESS"))
        add_notice(DsnAction::relayed, a, status, text);
    } else {
      auto age = now - static_cast<std::time_t>(e.created);
      bool expired = age >= cfg.outbound.max_age.count();
      if (a.reply.permanent() || expired) {
        plan.changes.push_back({e.id, store::QueueChange::Op::remove, 0, "", 0});
        ev.action = store::EventAction::bounced;
        std::string why = a.reply.permanent() ? text : "gave up after " + std::to_string(age / 3600) + " h: " + text;
        ev.detail = where + " reply=" + text + (expired && !a.reply.permanent() ? " (expired)" : "");
        ++plan.bounced;
        if (may_notify(e) && notify_has(e, "FAILURE"))
          add_notice(DsnAction::failed, a, a.reply.permanent() ? status : "4.4.7", why);
      } else {
        auto next = now + retry_interval(cfg.outbound, e.attempts).count();
        std::uint32_t flags = 0;
        if (cfg.outbound.delay_notice.count() > 0 && age >= cfg.outbound.delay_notice.count() &&
            !(e.flags & store::kQueueDelayNotified) && may_notify(e) && notify_has(e, "DELAY")) {
          flags = store::kQueueDelayNotified;
          add_notice(DsnAction::delayed, a, status, text);
        }
        plan.changes.push_back({e.id, store::QueueChange::Op::reschedule, static_cast<store::UnixTime>(next),
                                text, flags});
        ev.action = store::EventAction::deferred;
        ev.detail = where + " reply=" + text + " next=" + rfc5322_date(next);
        ++plan.deferred;
      }
    }
    plan.events.push_back(std::move(ev));
  }
  for (auto& [k, job] : notices) plan.dsns.push_back(std::move(job));
  return plan;
}

store::Result<void> commit_outcome(store::Store& store, const config::Config& cfg,
                                   OutcomePlan plan, const std::string& original, std::time_t now) {
  auto log_skipped = [](const std::string& to) {
    spdlog::info("outbound: no DSN to {}: its queue entries were deleted", to);
  };
  store::DeliveryRequest req;
  req.queue_changes = std::move(plan.changes);
  req.events = std::move(plan.events);
  // Several DSNs for one message are rare (failed + relayed); all but the first go
  // through the queue on their own commit.
  bool first = true;
  std::string secret;
  for (auto& job : plan.dsns) {
    job.input.original = original;
    std::string to = job.to;
    // A bounce to an SRS address of ours goes to the original sender.
    if (auto dom = domain_of(to); !dom.empty() && store.domain_exists(dom)) {
      if (secret.empty()) {
        auto s = store.srs_secret();
        if (s) secret = *s;
      }
      auto d = srs_reverse(secret, to, now);
      if (d.check == SrsCheck::ok) to = d.original;
    }
    job.input.to = to;
    std::string msg = build_dsn(job.input);
    store::DeliveryRequest* r = &req;
    store::DeliveryRequest extra;
    if (!first) r = &extra;
    r->body = std::move(msg);
    r->prefix = "Return-Path: <>\r\n";
    r->only_if_queued = job.entries;
    store::DeliveryEvent ev;
    ev.message_id = "dsn." + job.input.message_id;
    ev.sender = "";
    ev.recipient = to;
    auto res = store.resolve(to);
    if (res && !res->local.empty()) {
      for (const auto& l : res->local) r->targets.push_back(store::DeliveryTarget{l.account});
      ev.action = store::EventAction::delivered;
      ev.detail = std::string("delivery status notification (") + std::string(to_string(job.input.rcpts.front().action)) + ") to a local sender";
    } else {
      r->prefix.clear();
      store::OutboundEntry o;
      o.sender = "";
      o.recipient = to;
      o.message_id = ev.message_id;
      o.flags = store::kQueueIsBounce;
      r->outbound.push_back(o);
      ev.action = store::EventAction::queued;
      ev.detail = std::string("delivery status notification (") + std::string(to_string(job.input.rcpts.front().action)) + ")";
    }
    r->body_events.push_back(ev);
    if (!first) {
      auto x = store.deliver(extra);
      if (!x) spdlog::error("outbound: could not store a DSN to {}: {}", to, x.error().message());
      else if (x->skipped) log_skipped(to);
    }
    first = false;
  }
  (void)cfg;
  auto res = store.deliver(req);
  if (!res) return res.error();
  if (res->skipped) log_skipped(plan.dsns.front().input.to);
  return {};
}

}  // namespace tern::mta::queue
