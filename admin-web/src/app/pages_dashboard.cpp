// Dashboard: per domain, mailboxes and storage against quota; messages received,
// delivered, sent, rejected (by reason) and bounced over 24 hours and 7 days from the
// delivery events, drawn as inline SVG; queue size.
// Cost: one list_accounts() and one scan of 7 days of events, whatever the number of
// domains (a page must answer in < 100 ms with 1,000 domains and 10,000 mailboxes).
#include <algorithm>
#include <unordered_map>

#include "app_impl.hpp"

namespace tern::web::detail {

const char* const kSeriesName[kKinds] = {"received", "delivered", "sent", "rejected", "bounced"};

// received: accepted for a local recipient · delivered: into a local mailbox · sent:
// queued for remote delivery by a local sender · rejected: refused for a local
// recipient · bounced: a local sender's message given up on.
int classify_event(const store::DeliveryEvent& e, std::string& dom) {
  switch (e.action) {
    case store::EventAction::accepted: dom = domain_of(e.recipient); return kReceived;
    case store::EventAction::delivered: dom = domain_of(e.recipient); return kDelivered;
    case store::EventAction::queued: dom = domain_of(e.sender); return kSent;
    case store::EventAction::rejected: dom = domain_of(e.recipient); return kRejected;
    case store::EventAction::bounced: dom = domain_of(e.sender); return kBounced;
    default: return -1;
  }
}

std::string rejection_reason(const std::string& detail) {
  std::string r = detail.substr(0, detail.find(':'));
  if (r.size() > 48) r.resize(48);
  if (r.empty()) r = "unspecified";
  return r;
}

namespace {

std::vector<std::uint64_t>& series_of(Series& s, int k) {
  switch (k) {
    case kReceived: return s.received;
    case kDelivered: return s.delivered;
    case kSent: return s.sent;
    case kRejected: return s.rejected;
    default: return s.bounced;
  }
}

const std::vector<std::uint64_t>& series_of(const Series& s, int k) {
  switch (k) {
    case kReceived: return s.received;
    case kDelivered: return s.delivered;
    case kSent: return s.sent;
    case kRejected: return s.rejected;
    default: return s.bounced;
  }
}

void init(Series& s, std::size_t n) {
  for (int k = 0; k < kKinds; ++k) series_of(s, k).assign(n, 0);
}

std::uint64_t total(const std::vector<std::uint64_t>& v) {
  std::uint64_t t = 0;
  for (auto x : v) t += x;
  return t;
}

// Grouped bar chart of the five series. Markup built here from numbers only.
Html chart(const Series& s, std::size_t buckets, std::int64_t start, std::int64_t step, bool hourly) {
  const int W = 720, H = 160, left = 34, bottom = 20, top = 8;
  std::uint64_t maxv = 1;
  for (int k = 0; k < kKinds; ++k)
    for (auto v : series_of(s, k)) maxv = std::max(maxv, v);
  double bw = static_cast<double>(W - left) / static_cast<double>(buckets);
  double barw = std::max(1.0, (bw - 2) / static_cast<double>(kKinds));
  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + std::to_string(W) + " " + std::to_string(H) +
                    "\" role=\"img\" aria-label=\"messages per " + (hourly ? std::string("hour") : std::string("day")) + "\">";
  double plot_h = H - bottom - top;
  // axis and max label
  svg += "<line class=\"ax\" x1=\"" + std::to_string(left) + "\" y1=\"" + std::to_string(H - bottom) + "\" x2=\"" +
         std::to_string(W) + "\" y2=\"" + std::to_string(H - bottom) + "\"/>";
  svg += "<text x=\"0\" y=\"" + std::to_string(top + 8) + "\">" + std::to_string(maxv) + "</text>";
  svg += "<text x=\"0\" y=\"" + std::to_string(H - bottom) + "\">0</text>";
  char buf[160];
  for (std::size_t b = 0; b < buckets; ++b) {
    double x0 = left + static_cast<double>(b) * bw + 1;
    for (int k = 0; k < kKinds; ++k) {
      std::uint64_t v = series_of(s, k)[b];
      if (v == 0) continue;
      double h = plot_h * static_cast<double>(v) / static_cast<double>(maxv);
      std::snprintf(buf, sizeof buf, "<rect class=\"c-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%s: %llu</title></rect>",
                    kSeriesName[k], x0 + static_cast<double>(k) * barw, H - bottom - h, barw, h, kSeriesName[k],
                    static_cast<unsigned long long>(v));
      svg += buf;
    }
    bool label = hourly ? (b % 4 == 0) : true;
    if (label) {
      std::int64_t t = start + static_cast<std::int64_t>(b) * step;
      std::string lab = hourly ? format_time(t).substr(11, 5) : format_date(t).substr(5);
      std::snprintf(buf, sizeof buf, "<text x=\"%.1f\" y=\"%d\">%s</text>", x0, H - 6, lab.c_str());
      svg += buf;
    }
  }
  svg += "</svg>";
  return Html::from_generated(std::move(svg));
}

Html legend(const Series& s) {
  std::vector<Html> items;
  for (int k = 0; k < kKinds; ++k)
    items.push_back(render(R"(<span><i class="c-{{k}}"></i>{{k}} {{n}}</span>)",
                           {{"k", kSeriesName[k]}, {"n", total(series_of(s, k))}}));
  return render(R"(<div class="legend">{{i}}</div>)", {{"i", join(items)}});
}

void add_series(Series& into, const Series& from) {
  for (int k = 0; k < kKinds; ++k) {
    auto& a = series_of(into, k);
    const auto& b = series_of(from, k);
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] += b[i];
  }
}

}  // namespace

std::vector<DomainStats> compute_stats(Impl& app, const std::vector<std::string>& domains) {
  std::vector<DomainStats> out(domains.size());
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    out[i].domain = domains[i];
    init(out[i].day, 24);
    init(out[i].week, 7);
    index[domains[i]] = i;
  }
  if (auto accts = app.store.list_accounts()) {
    for (auto& a : *accts) {
      auto it = index.find(domain_of(a.address));
      if (it == index.end()) continue;
      auto& s = out[it->second];
      s.mailboxes++;
      s.used += a.usage.bytes;
      if (a.quota.bytes == 0) s.unlimited = true;
      s.quota += a.quota.bytes;
    }
  }
  std::int64_t now = app.now();
  std::int64_t hour_end = (now / 3600 + 1) * 3600, day_end = (now / 86400 + 1) * 86400;
  std::int64_t since = std::min(hour_end - 24 * 3600, day_end - 7 * 86400);
  (void)app.store.for_each_event(since, day_end, [&](const store::DeliveryEvent& e) {
    std::string dom;
    int kind = classify_event(e, dom);
    if (kind < 0) return true;
    auto it = index.find(dom);
    if (it == index.end()) return true;
    auto& s = out[it->second];
    if (e.time >= hour_end - 24 * 3600) {
      auto b = static_cast<std::size_t>((e.time - (hour_end - 24 * 3600)) / 3600);
      if (b < 24) series_of(s.day, kind)[b]++;
    }
    if (e.time >= day_end - 7 * 86400) {
      auto b = static_cast<std::size_t>((e.time - (day_end - 7 * 86400)) / 86400);
      if (b < 7) series_of(s.week, kind)[b]++;
      if (kind == kRejected) s.rejected_by_reason[rejection_reason(e.detail)]++;
    }
    return true;
  });
  return out;
}

namespace {

Response get_dashboard(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return redirect("/me");
  std::vector<std::string> doms;
  if (auto all = app.store.list_domains())
    for (auto& d : *all)
      if (c.who->can_domain(d)) doms.push_back(d);
  std::string only = c.form.get("domain");
  if (!only.empty()) {
    if (!c.who->can_domain(only)) return forbidden(app, c);
    doms = {only};
  }
  auto stats = compute_stats(app, doms);
  Series day, week;
  init(day, 24);
  init(week, 7);
  std::uint64_t mailboxes = 0, used = 0;
  std::map<std::string, std::uint64_t> reasons;
  for (auto& s : stats) {
    add_series(day, s.day);
    add_series(week, s.week);
    mailboxes += s.mailboxes;
    used += s.used;
    for (auto& [r, n] : s.rejected_by_reason) reasons[r] += n;
  }
  std::uint64_t queued = 0;
  if (auto q = app.store.list_queue()) {
    for (auto& e : *q)
      if (c.who->is_global() && only.empty()) ++queued;
      else if (std::find(doms.begin(), doms.end(), domain_of(e.sender)) != doms.end()) ++queued;
  }
  std::vector<std::pair<std::uint64_t, std::string>> sorted_reasons;
  for (auto& [r, n] : reasons) sorted_reasons.emplace_back(n, r);
  std::sort(sorted_reasons.rbegin(), sorted_reasons.rend());
  std::vector<Html> rrows;
  for (auto& [n, r] : sorted_reasons)
    rrows.push_back(render(R"(<tr><td>{{r}}</td><td class="num">{{n}}</td></tr>)", {{"r", r}, {"n", n}}));

  std::vector<Html> rows;
  for (auto& s : stats) {
    std::string enc = percent_encode(s.domain);
    rows.push_back(render(R"(<tr><td data-label="Domain"><a href="/?domain={{e}}">{{d}}</a></td><td data-label="Mailboxes" class="num">{{m}}</td><td data-label="Storage" class="num">{{u}}</td><td data-label="Quota" class="num">{{q}}</td><td data-label="Received 24h/7d" class="num">{{r1}} / {{r7}}</td><td data-label="Delivered" class="num">{{d1}} / {{d7}}</td><td data-label="Sent" class="num">{{s1}} / {{s7}}</td><td data-label="Rejected" class="num">{{j1}} / {{j7}}</td><td data-label="Bounced" class="num">{{b1}} / {{b7}}</td></tr>)",
                          {{"e", enc}, {"d", s.domain}, {"m", s.mailboxes}, {"u", human_bytes(s.used)},
                           {"q", s.unlimited ? std::string("unlimited") : human_bytes(s.quota)},
                           {"r1", total(s.day.received)}, {"r7", total(s.week.received)},
                           {"d1", total(s.day.delivered)}, {"d7", total(s.week.delivered)},
                           {"s1", total(s.day.sent)}, {"s7", total(s.week.sent)},
                           {"j1", total(s.day.rejected)}, {"j7", total(s.week.rejected)},
                           {"b1", total(s.day.bounced)}, {"b7", total(s.week.bounced)}}));
  }
  std::int64_t now = app.now();
  std::int64_t hour_start = (now / 3600 + 1) * 3600 - 24 * 3600;
  std::int64_t day_start = (now / 86400 + 1) * 86400 - 7 * 86400;
  Html scope = only.empty() ? (c.who->is_global() ? Html("all domains") : Html("your domains"))
                            : render(R"({{d}} · <a href="/">all</a> · <a href="/domains/{{e}}">manage</a>)", {{"d", only}, {"e", percent_encode(only)}});
  Html body = render(R"(<h1>Dashboard</h1><p class="muted">Showing {{scope}}.</p>
<div class="grid">
<section class="card stat"><span class="l">Domains</span><span class="n">{{nd}}</span></section>
<section class="card stat"><span class="l">Mailboxes</span><span class="n">{{nm}}</span></section>
<section class="card stat"><span class="l">Storage used</span><span class="n">{{used}}</span></section>
<section class="card stat"><span class="l">Queued for delivery</span><span class="n">{{queue}}</span></section>
</div>
<section class="card"><h2>Last 24 hours</h2>{{leg1}}{{c1}}</section>
<section class="card"><h2>Last 7 days</h2>{{leg7}}{{c7}}</section>
<section class="card"><h2>Rejected by reason (7 days)</h2>{{reasons}}</section>
<section class="card"><h2>Per domain</h2><p class="muted">Message counts: last 24 hours / last 7 days.</p><div class="table-wrap"><table class="responsive"><thead><tr><th>Domain</th><th class="num">Mailboxes</th><th class="num">Storage</th><th class="num">Quota</th><th class="num">Received</th><th class="num">Delivered</th><th class="num">Sent</th><th class="num">Rejected</th><th class="num">Bounced</th></tr></thead><tbody>{{rows}}</tbody></table></div></section>)",
                     {{"scope", scope}, {"nd", static_cast<std::uint64_t>(doms.size())}, {"nm", mailboxes},
                      {"used", human_bytes(used)}, {"queue", queued},
                      {"leg1", legend(day)}, {"c1", chart(day, 24, hour_start, 3600, true)},
                      {"leg7", legend(week)}, {"c7", chart(week, 7, day_start, 86400, false)},
                      {"reasons", rrows.empty() ? Html(R"(<p class="muted">No rejections.</p>)")
                                                : render(R"(<div class="table-wrap"><table><thead><tr><th>Reason</th><th class="num">Messages</th></tr></thead><tbody>{{r}}</tbody></table></div>)", {{"r", join(rrows)}})},
                      {"rows", join(rows)}});
  return page(app, c, "Dashboard", body);
}

Response get_root(Impl& app, Ctx& c) { return get_dashboard(app, c); }

}  // namespace

void add_dashboard_routes(Router<Handler>& r) { r.add("GET", "/", authed(get_root)); }

}  // namespace tern::web::detail
