// Delivery tracking (cPanel's Track Delivery): search the delivery events by sender,
// recipient, message id and time; one message's steps. Domain admins see the events
// whose sender or recipient is in one of their domains. Also the queue page.
#include <algorithm>
#include <map>

#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

constexpr std::size_t kMaxRows = 500;

bool visible(const Principal& who, const store::DeliveryEvent& e) {
  if (who.is_global()) return true;
  return who.can_domain(domain_of(e.recipient)) || who.can_domain(domain_of(e.sender));
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

Html action_badge(store::EventAction a) {
  using A = store::EventAction;
  std::string cls = a == A::delivered || a == A::forwarded || a == A::autoreplied ? "ok"
                    : a == A::rejected || a == A::bounced                        ? "bad"
                    : a == A::deferred                                            ? "warn"
                                                                                  : "";
  return render(R"(<span class="badge {{c}}">{{a}}</span>)", {{"c", cls}, {"a", store::event_action_name(a)}});
}

struct Query {
  std::string sender, recipient, message_id, domain;
  std::int64_t since = 0, until = 0;
};

std::vector<store::DeliveryEvent> search(Impl& app, const Principal& who, const Query& q) {
  std::vector<store::DeliveryEvent> out;
  (void)app.store.for_each_event(q.since, q.until, [&](const store::DeliveryEvent& e) {
    if (!visible(who, e)) return true;
    if (!contains_ci(e.sender, q.sender) || !contains_ci(e.recipient, q.recipient)) return true;
    if (!q.message_id.empty() && e.message_id != q.message_id) return true;
    if (!q.domain.empty() && domain_of(e.recipient) != q.domain && domain_of(e.sender) != q.domain) return true;
    out.push_back(e);
    if (out.size() > 20 * kMaxRows) out.erase(out.begin(), out.begin() + static_cast<long>(kMaxRows));
    return true;
  });
  std::reverse(out.begin(), out.end());  // newest first
  if (out.size() > kMaxRows) out.resize(kMaxRows);
  return out;
}

json::object event_json(const store::DeliveryEvent& e) {
  return json::object{{"time", e.time}, {"message_id", e.message_id}, {"sender", e.sender},
                      {"recipient", e.recipient}, {"action", store::event_action_name(e.action)}, {"detail", e.detail}};
}

// Reads the search form; "" = ok, else the field in error.
std::string read_query(Impl& app, const Ctx& c, Query& q, std::string& why) {
  q.sender = c.form.get("sender");
  q.recipient = c.form.get("recipient");
  q.message_id = c.form.get("message_id");
  q.domain = c.form.get("domain");
  std::int64_t now = app.now();
  q.since = now - app.cfg.store.events_retention.count();
  q.until = now + 86400;
  for (auto* f : {&q.sender, &q.recipient, &q.message_id, &q.domain}) {
    if (f->size() > 320 || !is_clean_text(*f, true)) {
      why = "at most 320 characters of text";
      return f == &q.sender ? "sender" : f == &q.recipient ? "recipient" : f == &q.message_id ? "message_id" : "domain";
    }
  }
  if (std::string s = c.form.get("since"); !s.empty()) {
    auto t = parse_date(s);
    if (!t) {
      why = "a date like 2026-12-01";
      return "since";
    }
    q.since = *t;
  }
  if (std::string s = c.form.get("until"); !s.empty()) {
    auto t = parse_date(s);
    if (!t) {
      why = "a date like 2026-12-01";
      return "until";
    }
    q.until = *t + 86400;
  }
  if (!q.domain.empty() && !c.who->can_domain(q.domain)) {
    why = "not one of your domains";
    return "domain";
  }
  return {};
}

Response get_tracking(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return forbidden(app, c);
  Query q;
  std::string why;
  std::string bad = read_query(app, c, q, why);
  PageMessages m;
  std::vector<Html> rows;
  if (!bad.empty()) {
    m.errors[bad] = why;
  } else {
    for (auto& e : search(app, *c.who, q)) {
      rows.push_back(render(R"(<tr><td data-label="Time" class="mono">{{t}}</td><td data-label="Result">{{a}}</td><td data-label="From">{{s}}</td><td data-label="To">{{r}}</td><td data-label="Message"><a href="/tracking/{{ide}}">{{id}}</a></td><td data-label="Detail">{{d}}</td></tr>)",
                            {{"t", format_time(e.time)}, {"a", action_badge(e.action)}, {"s", e.sender.empty() ? "<>" : e.sender},
                             {"r", e.recipient}, {"ide", percent_encode(e.message_id)}, {"id", e.message_id}, {"d", e.detail}}));
    }
  }
  Html body = render(R"(<h1>Track delivery</h1>
<section class="card"><form method="get" action="/tracking" class="inline">
<div class="f"><label for="sender">Sender</label><input id="sender" name="sender" type="search" value="{{s}}" maxlength="320">{{se}}</div>
<div class="f"><label for="recipient">Recipient</label><input id="recipient" name="recipient" type="search" value="{{r}}" maxlength="320">{{re}}</div>
<div class="f"><label for="message_id">Message id</label><input id="message_id" name="message_id" type="search" value="{{id}}" maxlength="320">{{ie}}</div>
<div class="f"><label for="since">From day</label><input id="since" name="since" type="date" value="{{since}}">{{sie}}</div>
<div class="f"><label for="until">To day</label><input id="until" name="until" type="date" value="{{until}}">{{une}}</div>
<input type="hidden" name="domain" value="{{dom}}">{{de}}
<button type="submit" class="primary">Search</button></form></section>
<section class="card"><p class="muted">{{n}} events, newest first (at most 500).</p><div class="table-wrap"><table class="responsive"><thead><tr><th>Time</th><th>Result</th><th>From</th><th>To</th><th>Message</th><th>Detail</th></tr></thead><tbody>{{rows}}</tbody></table></div></section>)",
                     {{"s", q.sender}, {"se", field_error(m, "sender")}, {"r", q.recipient}, {"re", field_error(m, "recipient")},
                      {"id", q.message_id}, {"ie", field_error(m, "message_id")}, {"since", c.form.get("since")},
                      {"sie", field_error(m, "since")}, {"until", c.form.get("until")}, {"une", field_error(m, "until")},
                      {"dom", q.domain}, {"de", field_error(m, "domain")},
                      {"n", static_cast<std::uint64_t>(rows.size())}, {"rows", join(rows)}});
  return page(app, c, "Track delivery", body, m.errors.empty() ? 200 : 422);
}

Response get_message(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return forbidden(app, c);
  Query q;
  q.message_id = c.p("id");
  q.since = app.now() - app.cfg.store.events_retention.count();
  q.until = app.now() + 86400;
  auto ev = search(app, *c.who, q);
  std::reverse(ev.begin(), ev.end());  // in order
  if (ev.empty()) return error_page(app, c, 404, "No events for this message (or none you may see).");
  std::vector<Html> steps;
  for (auto& e : ev)
    steps.push_back(render(R"(<li><div>{{a}} <span class="mono muted">{{t}}</span></div><div>from {{s}} to {{r}}</div><div class="muted">{{d}}</div></li>)",
                           {{"a", action_badge(e.action)}, {"t", format_time(e.time)}, {"s", e.sender.empty() ? "<>" : e.sender},
                            {"r", e.recipient}, {"d", e.detail}}));
  Html body = render(R"(<p class="muted"><a href="/tracking">Track delivery</a> ›</p><h1>Message <code>{{id}}</code></h1>
<section class="card"><ol class="steps">{{steps}}</ol></section>)",
                     {{"id", q.message_id}, {"steps", join(steps)}});
  return page(app, c, "Message " + q.message_id, body);
}

Response api_events(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return api_error(403, "you may not see or change this");
  Query q;
  std::string why;
  std::string bad = read_query(app, c, q, why);
  if (!bad.empty()) return api_error(bad == "domain" ? 403 : 422, why, bad);
  json::array a;
  for (auto& e : search(app, *c.who, q)) a.push_back(event_json(e));
  return json_response(200, json::object{{"events", std::move(a)}});
}

// ---------------------------------------------------------------- queue
// Each outbound attempt of a queue entry, from the events the queue worker records
// with every attempt (mta/queue/outcome.cpp: deferred / delivered / bounced, message id
// of the entry, or "Q<id>", and its recipient), oldest first. One scan of the events.
using AttemptLog = std::map<std::pair<std::string, std::string>, std::vector<store::DeliveryEvent>>;

std::string attempt_key_id(const store::QueueEntry& e) {
  return e.message_id.empty() ? "Q" + std::to_string(e.id) : e.message_id;
}

AttemptLog attempt_log(Impl& app, const std::vector<store::QueueEntry>& q) {
  AttemptLog log;
  if (q.empty()) return log;
  std::int64_t since = app.now();
  for (auto& e : q) {
    log[{attempt_key_id(e), e.recipient}];
    since = std::min<std::int64_t>(since, e.created);
  }
  (void)app.store.for_each_event(since, app.now() + 86400, [&](const store::DeliveryEvent& ev) {
    using A = store::EventAction;
    if (ev.action != A::deferred && ev.action != A::delivered && ev.action != A::bounced) return true;
    auto it = log.find({ev.message_id, ev.recipient});
    if (it != log.end() && it->second.size() < 100) it->second.push_back(ev);
    return true;
  });
  return log;
}

Html queue_row(const Ctx& c, const store::QueueEntry& e, std::int64_t now, const std::vector<store::DeliveryEvent>& attempts) {
  std::int64_t age = now - e.created;
  std::string age_s = age < 3600 ? std::to_string(age / 60) + " min" : age < 86400 ? std::to_string(age / 3600) + " h" : std::to_string(age / 86400) + " d";
  std::vector<Html> steps;
  for (auto& a : attempts)
    steps.push_back(render(R"(<li><div>{{b}} <span class="mono muted">{{t}}</span></div><div class="muted">{{d}}</div></li>)",
                           {{"b", action_badge(a.action)}, {"t", format_time(a.time)}, {"d", a.detail}}));
  Html log = attempts.empty()
                 ? Html(R"(<span class="muted">no attempt yet</span>)")
                 : render(R"(<details class="attempts"><summary>{{n}} recorded</summary><ol class="steps">{{s}}</ol></details>)",
                          {{"n", static_cast<std::uint64_t>(attempts.size())}, {"s", join(steps)}});
  return render(R"(<tr data-id="{{id}}"><td data-label="Id" class="mono">{{id}}</td><td data-label="Age">{{age}}</td><td data-label="From">{{s}}</td><td data-label="To">{{r}}</td><td data-label="Size" class="num">{{size}}</td><td data-label="Attempts" class="num attempts-n">{{n}}</td><td data-label="Next">{{next}}</td><td data-label="Last error">{{err}}</td><td data-label="Attempt log">{{log}}</td>
<td data-label=""><div class="actions"><form method="post" action="/queue/{{id}}/retry">{{csrf}}<button type="submit" class="small">Retry now</button></form><form method="post" action="/queue/{{id}}/delete" data-confirm="Delete this message from the queue? It will not be delivered and no bounce is sent.">{{csrf}}<button type="submit" class="small danger">Delete</button></form></div></td></tr>)",
                {{"id", e.id}, {"age", age_s}, {"s", e.sender.empty() ? "<>" : e.sender}, {"r", e.recipient},
                 {"size", human_bytes(e.size)}, {"n", static_cast<std::uint64_t>(e.attempts)},
                 {"next", format_time(e.next_attempt)}, {"err", e.last_error}, {"log", log}, {"csrf", csrf_field(c)}});
}

Response get_queue(Impl& app, Ctx& c) {
  if (!c.who->is_global()) return forbidden(app, c);
  auto q = app.store.list_queue();
  if (!q) return error_page(app, c, 503, "Cannot read the queue; try again.");
  std::vector<Html> rows;
  std::int64_t now = app.now();
  AttemptLog log = attempt_log(app, *q);
  for (auto& e : *q) rows.push_back(queue_row(c, e, now, log[{attempt_key_id(e), e.recipient}]));
  PageMessages m = messages_from(c);
  Html body = render(R"({{notice}}<h1>Queue</h1><section class="card"><p class="muted">{{n}} messages waiting for remote delivery. “Retry now” makes a message due at once; it does not count as an attempt.</p>
<div class="table-wrap"><table class="responsive"><thead><tr><th>Id</th><th>Age</th><th>From</th><th>To</th><th class="num">Size</th><th class="num">Attempts</th><th>Next attempt</th><th>Last error</th><th>Attempt log</th><th></th></tr></thead><tbody>{{rows}}</tbody></table></div></section>)",
                     {{"notice", notice(m)}, {"n", static_cast<std::uint64_t>(q->size())}, {"rows", join(rows)}});
  return page(app, c, "Queue", body);
}

std::optional<std::uint64_t> queue_id(const Ctx& c) {
  std::string s = c.p("id");
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

Response post_queue_retry(Impl& app, Ctx& c) {
  auto id = queue_id(c);
  if (!id) return error_page(app, c, 404, "No such queue entry.");
  Outcome o = act_queue_retry(app, c, *id);
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return error_page(app, c, o.status, o.message);
  return redirect("/queue?ok=queue-retry");
}

Response post_queue_delete(Impl& app, Ctx& c) {
  auto id = queue_id(c);
  if (!id) return error_page(app, c, 404, "No such queue entry.");
  Outcome o = act_queue_delete(app, c, *id);
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return error_page(app, c, o.status, o.message);
  return redirect("/queue?ok=queue-deleted");
}

Response api_queue(Impl& app, Ctx& c) {
  if (!c.who->is_global()) return api_error(403, "you may not see or change this");
  auto q = app.store.list_queue();
  if (!q) return api_outcome(store_error(q.error()));
  json::array a;
  AttemptLog log = attempt_log(app, *q);
  for (auto& e : *q) {
    json::array tries;
    for (auto& ev : log[{attempt_key_id(e), e.recipient}]) tries.push_back(event_json(ev));
    a.push_back(json::object{{"id", e.id}, {"sender", e.sender}, {"recipient", e.recipient}, {"size", e.size},
                             {"created", e.created}, {"next_attempt", e.next_attempt}, {"attempts", e.attempts},
                             {"last_error", e.last_error}, {"message_id", e.message_id},
                             {"attempt_log", std::move(tries)}});
  }
  return json_response(200, json::object{{"queue", std::move(a)}});
}

Response api_queue_retry(Impl& app, Ctx& c) {
  auto id = queue_id(c);
  if (!id) return api_error(404, "no such queue entry");
  return api_outcome(act_queue_retry(app, c, *id));
}

Response api_queue_delete(Impl& app, Ctx& c) {
  auto id = queue_id(c);
  if (!id) return api_error(404, "no such queue entry");
  return api_outcome(act_queue_delete(app, c, *id));
}

}  // namespace

void add_tracking_routes(Router<Handler>& r) {
  r.add("GET", "/tracking", authed(get_tracking));
  r.add("GET", "/tracking/{id}", authed(get_message));
  r.add("GET", "/api/events", authed(api_events));
}

void add_queue_routes(Router<Handler>& r) {
  r.add("GET", "/queue", authed(get_queue));
  r.add("POST", "/queue/{id}/retry", authed(post_queue_retry));
  r.add("POST", "/queue/{id}/delete", authed(post_queue_delete));
  r.add("GET", "/api/queue", authed(api_queue));
  r.add("POST", "/api/queue/{id}/retry", authed(api_queue_retry));
  r.add("DELETE", "/api/queue/{id}", authed(api_queue_delete));
}

}  // namespace tern::web::detail
