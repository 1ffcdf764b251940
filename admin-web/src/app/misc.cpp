// /healthz and /metrics (Prometheus text format 0.0.4).
#include <map>

#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

// A Prometheus label value: \ " and newline escaped (text format 0.0.4).
std::string label_value(std::string_view v) {
  std::string o;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') o += '\\';
    if (ch == '\n') {
      o += "\\n";
      continue;
    }
    o += ch;
  }
  return o;
}

Response healthz(Impl& app, Ctx&) {
  Response r;
  r.set("content-type", "text/plain; charset=utf-8");
  auto s = app.store.stats();
  if (!s) {
    r.status = 503;
    r.body = "store: " + s.error().message() + "\n";
  } else {
    r.body = "ok\n";
  }
  return r;
}

// Gauges from the store (it is the only state the daemons share) and counters of this
// process. Message counts come from the delivery events: tern_messages_24h by raw event
// action, tern_mail_messages / tern_mail_rejected_7d exactly as the dashboard counts.
Response metrics(Impl& app, Ctx&) {
  std::string o;
  auto gauge = [&](const char* name, const char* help, const std::string& labels, double v, bool header = true) {
    if (header) o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    o += std::string(name) + labels + " " + buf + "\n";
  };
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
         std::to_string(v) + "\n";
  };
  std::int64_t now = app.now();
  std::map<std::string, std::uint64_t> by_action;
  for (auto a : {"accepted", "delivered", "forwarded", "queued", "rejected", "deferred", "bounced", "autoreplied"})
    by_action[a] = 0;
  (void)app.store.for_each_event(now - 86400, now + 1, [&](const store::DeliveryEvent& e) {
    by_action[std::string(store::event_action_name(e.action))]++;
    return true;
  });
  bool first = true;
  for (auto& [a, n] : by_action) {
    gauge("tern_messages_24h", "Delivery events of the last 24 hours by result.", "{result=\"" + a + "\"}",
          static_cast<double>(n), first);
    first = false;
  }
  // The dashboard's numbers, from the same compute_stats() over every domain, so a
  // global admin's dashboard and these agree: the 24-hour window is the 24 hourly
  // buckets up to the end of this hour, the 7-day one the 7 days (UTC) up to today's end.
  {
    std::vector<std::string> doms;
    if (auto all = app.store.list_domains()) doms = *all;
    auto stats = compute_stats(app, doms);
    std::uint64_t day[kKinds] = {}, week[kKinds] = {};
    std::map<std::string, std::uint64_t> reasons;
    auto sum = [](const std::vector<std::uint64_t>& v) {
      std::uint64_t t = 0;
      for (auto x : v) t += x;
      return t;
    };
    for (auto& st : stats) {
      const std::vector<std::uint64_t>* d[kKinds] = {&st.day.received, &st.day.delivered, &st.day.sent,
                                                      &st.day.rejected, &st.day.bounced};
      const std::vector<std::uint64_t>* w[kKinds] = {&st.week.received, &st.week.delivered, &st.week.sent,
                                                      &st.week.rejected, &st.week.bounced};
      for (int k = 0; k < kKinds; ++k) {
        day[k] += sum(*d[k]);
        week[k] += sum(*w[k]);
      }
      for (auto& [r, n] : st.rejected_by_reason) reasons[r] += n;
    }
    bool head = true;
    for (int k = 0; k < kKinds; ++k) {
      gauge("tern_mail_messages", "Messages of the local domains as the dashboard counts them, by kind and window.",
            std::string("{kind=\"") + kSeriesName[k] + "\",window=\"24h\"}", static_cast<double>(day[k]), head);
      head = false;
      gauge("tern_mail_messages", "", std::string("{kind=\"") + kSeriesName[k] + "\",window=\"7d\"}",
            static_cast<double>(week[k]), false);
    }
    head = true;
    for (auto& [r, n] : reasons) {
      gauge("tern_mail_rejected_7d", "Rejected messages of the last 7 days by reason (the dashboard's table).",
            "{reason=\"" + label_value(r) + "\"}", static_cast<double>(n), head);
      head = false;
    }
    if (head) o += "# HELP tern_mail_rejected_7d Rejected messages of the last 7 days by reason (the dashboard's table).\n# TYPE tern_mail_rejected_7d gauge\n";
  }
  if (auto q = app.store.list_queue()) {
    std::int64_t oldest = 0;
    for (auto& e : *q)
      if (e.created && (oldest == 0 || e.created < oldest)) oldest = e.created;
    gauge("tern_queue_messages", "Entries in the outbound queue.", "", static_cast<double>(q->size()));
    gauge("tern_queue_oldest_age_seconds", "Age of the oldest queue entry.", "",
          oldest ? static_cast<double>(now - oldest) : 0.0);
  }
  if (auto s = app.store.stats()) {
    gauge("tern_store_file_bytes", "Size of the store's data file.", "", static_cast<double>(s->file_bytes));
    gauge("tern_store_used_bytes", "Pages of the store in use.", "", static_cast<double>(s->used_bytes));
    gauge("tern_store_message_bytes", "Bytes of stored message bodies (deduplicated).", "",
          static_cast<double>(s->blob_bytes));
    gauge("tern_domains", "Local domains.", "", static_cast<double>(s->domains));
    gauge("tern_accounts", "Mailbox accounts.", "", static_cast<double>(s->accounts));
  }
  if (auto accts = app.store.list_accounts()) {
    std::uint64_t used = 0;
    for (auto& a : *accts) used += a.usage.bytes;
    gauge("tern_mailbox_used_bytes", "Sum of the mailboxes' usage (before deduplication).", "",
          static_cast<double>(used));
  }
  gauge("tern_web_connections", "Open connections to tern-web.", "",
        static_cast<double>(app.metrics.connections.load()));
  counter("tern_web_requests_total", "HTTP requests served by tern-web.", app.metrics.requests.load());
  counter("tern_web_auth_failures_total", "Failed or refused (throttled) logins at tern-web since it started.",
          app.metrics.auth_failures.load());
  // Every daemon's failed logins, from the failed-login table tern shares between them
  // (counted since tern started; a tern-web started alone sees only its own).
  {
    auth::ThrottleTable& t = app.auth.throttle().table();
    const auth::AuthService services[] = {auth::AuthService::Smtp, auth::AuthService::Pop3, auth::AuthService::Imap,
                                          auth::AuthService::Web};
    o += "# HELP tern_auth_failures_total Failed logins (unknown user, wrong password, disabled account), "
         "per service.\n# TYPE tern_auth_failures_total counter\n";
    for (auto s : services)
      o += "tern_auth_failures_total{service=\"" + std::string(auth::service_name(s)) + "\"} " +
           std::to_string(t.failures(s)) + "\n";
    o += "# HELP tern_auth_refused_total Logins refused unverified by the throttle, per service.\n"
         "# TYPE tern_auth_refused_total counter\n";
    for (auto s : services)
      o += "tern_auth_refused_total{service=\"" + std::string(auth::service_name(s)) + "\"} " +
           std::to_string(t.refusals(s)) + "\n";
    gauge("tern_auth_throttle_shared", "1 when the failed-login counts are shared with the other daemons.", "",
          t.shared() ? 1.0 : 0.0);
  }
  counter("tern_web_csrf_rejected_total", "State changes refused for a missing CSRF token or foreign Origin.",
          app.metrics.csrf_rejected.load());
  counter("tern_web_too_large_total", "Requests refused for size (413/431).", app.metrics.too_large.load());
  Response r;
  r.set("content-type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = std::move(o);
  return r;
}

}  // namespace

void add_misc_routes(Router<Handler>& r) {
  r.add("GET", "/healthz", open_route(healthz));
  r.add("GET", "/metrics", open_route(metrics));
}

}  // namespace tern::web::detail
