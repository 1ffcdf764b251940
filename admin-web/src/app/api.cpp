// The JSON API under /api: one endpoint per page action, the same actions (actions.cpp)
// and the same rules (session cookie + X-CSRF-Token, or Authorization: Bearer TOKEN).
// Errors: {"error": {"status": N, "message": "...", "field": "..."}} with 400, 401, 403,
// 404, 409, 415, 422, 429 or 503.
#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

Response need_admin(const Ctx& c) { return c.who->is_admin() ? Response{0, {}, {}} : api_error(403, "administrators only"); }

Response list_domains(Impl& app, Ctx& c) {
  if (auto r = need_admin(c); r.status) return r;
  auto all = app.store.list_domains();
  if (!all) return api_outcome(store_error(all.error()));
  json::array a;
  for (auto& d : *all)
    if (c.who->can_domain(d)) {
      auto arch = app.store.get_domain_archive(d);
      a.push_back(json::object{{"domain", d}, {"archive", arch ? *arch : std::string()}});
    }
  return json_response(200, json::object{{"domains", std::move(a)}});
}

Response add_domain(Impl& app, Ctx& c) { return api_outcome(act_add_domain(app, c, c.in("domain"))); }

Response get_domain(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  if (!c.who->can_domain(d)) return api_error(403, "you may not see or change this");
  if (!app.store.domain_exists(d)) return api_error(404, "no such domain");
  auto stats = compute_stats(app, {d});
  auto& s = stats.front();
  auto sum = [](const std::vector<std::uint64_t>& v) {
    std::uint64_t t = 0;
    for (auto x : v) t += x;
    return t;
  };
  json::object o{{"domain", d},
                 {"mailboxes", s.mailboxes},
                 {"used_bytes", s.used},
                 {"quota_bytes", s.unlimited ? json::value(nullptr) : json::value(s.quota)}};
  auto series = [&](const Series& x) {
    return json::object{{"received", sum(x.received)}, {"delivered", sum(x.delivered)}, {"sent", sum(x.sent)},
                        {"rejected", sum(x.rejected)}, {"bounced", sum(x.bounced)}};
  };
  o["last_24h"] = series(s.day);
  o["last_7d"] = series(s.week);
  json::object reasons;
  for (auto& [r, n] : s.rejected_by_reason) reasons[r] = n;
  o["rejected_by_reason_7d"] = std::move(reasons);
  auto arch = app.store.get_domain_archive(d);
  o["archive"] = arch ? *arch : std::string();
  return json_response(200, o);
}

Response del_domain(Impl& app, Ctx& c) { return api_outcome(act_del_domain(app, c, c.p("domain"))); }
Response set_archive(Impl& app, Ctx& c) { return api_outcome(act_set_archive(app, c, c.p("domain"), c.in("archive"))); }

Response list_mailboxes(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  if (!c.who->can_domain(d)) return api_error(403, "you may not see or change this");
  if (!app.store.domain_exists(d)) return api_error(404, "no such domain");
  auto accts = app.store.list_accounts(d);
  if (!accts) return api_outcome(store_error(accts.error()));
  json::array a;
  for (auto& x : *accts) a.push_back(account_json(x));
  return json_response(200, json::object{{"mailboxes", std::move(a)}});
}

Response add_mailbox(Impl& app, Ctx& c) {
  return api_outcome(act_add_mailbox(app, c, c.p("domain"), c.in("local"), c.in("password"), c.in("quota")));
}

Response get_mailbox(Impl& app, Ctx& c) {
  std::string addr = c.p("address");
  if (!c.who->can_address(addr)) return api_error(403, "you may not see or change this");
  auto a = app.store.get_account(addr);
  if (!a) return api_outcome(store_error(a.error()));
  json::object o = account_json(*a);
  json::array folders;
  if (auto f = app.store.list_mailboxes(a->id))
    for (auto& m : *f)
      folders.push_back(json::object{{"name", m.name}, {"messages", m.messages}, {"unseen", m.unseen}, {"bytes", m.size}});
  o["folders"] = std::move(folders);
  auto ar = app.store.get_autoreply(addr);
  if (ar && ar->has_value())
    o["autoreply"] = json::object{{"subject", (*ar)->subject}, {"body", (*ar)->body}, {"days", (*ar)->days},
                                  {"start", (*ar)->start}, {"end", (*ar)->end}};
  else
    o["autoreply"] = nullptr;
  auto fw = app.store.get_forwarding(addr);
  if (fw && fw->has_value()) {
    json::array t;
    for (auto& x : (*fw)->targets) t.push_back(json::value(x));
    o["forwarding"] = json::object{{"targets", std::move(t)}, {"keep_copy", (*fw)->keep_copy}};
  } else {
    o["forwarding"] = nullptr;
  }
  return json_response(200, o);
}

// PATCH {password, quota, enabled}: each given field is one action (one transaction each).
Response patch_mailbox(Impl& app, Ctx& c) {
  std::string addr = c.p("address");
  if (!c.who->can_address(addr)) return api_error(403, "you may not see or change this");
  if (c.body.empty()) return api_error(422, "give password, quota or enabled");
  if (c.body.contains("password")) {
    std::string pw = c.in("password");
    Outcome o = act_set_password(app, c, addr, pw, c.body.contains("confirm") ? c.in("confirm") : pw);
    if (!o.ok()) return api_outcome(o);
  }
  if (c.body.contains("quota")) {
    Outcome o = act_set_quota(app, c, addr, c.in("quota"));
    if (!o.ok()) return api_outcome(o);
  }
  if (c.body.contains("enabled")) {
    if (!c.body.at("enabled").is_bool()) return api_error(422, "true or false", "enabled");
    Outcome o = act_set_enabled(app, c, addr, c.body.at("enabled").as_bool());
    if (!o.ok()) return api_outcome(o);
  }
  return get_mailbox(app, c);
}

Response del_mailbox(Impl& app, Ctx& c) {
  // The API asks for the same confirmation as the page: ?confirm=ADDRESS or {"confirm"}.
  std::string confirm = c.body.contains("confirm") ? c.in("confirm") : c.form.get("confirm");
  return api_outcome(act_del_mailbox(app, c, c.p("address"), confirm));
}

Response put_autoreply(Impl& app, Ctx& c) { return api_outcome(act_set_autoreply(app, c, c.p("address"), c)); }
Response del_autoreply(Impl& app, Ctx& c) { return api_outcome(act_clear_autoreply(app, c, c.p("address"))); }

// PUT {targets: [..] or "a, b", keep_copy: bool (default true)}.
Response put_forwarding(Impl& app, Ctx& c) {
  bool keep = true;
  if (c.body.contains("keep_copy")) {
    if (!c.body.at("keep_copy").is_bool()) return api_error(422, "true or false", "keep_copy");
    keep = c.body.at("keep_copy").as_bool();
  }
  Outcome o = act_set_forwarding(app, c, c.p("address"), c.in("targets"), keep);
  if (o.field == "fwd_targets") o.field = "targets";
  return api_outcome(o);
}
Response del_forwarding(Impl& app, Ctx& c) { return api_outcome(act_clear_forwarding(app, c, c.p("address"))); }

Response list_forwarders(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  if (!c.who->can_domain(d)) return api_error(403, "you may not see or change this");
  if (!app.store.domain_exists(d)) return api_error(404, "no such domain");
  auto al = app.store.list_aliases(d);
  if (!al) return api_outcome(store_error(al.error()));
  json::array a;
  for (auto& x : *al) a.push_back(alias_json(x));
  return json_response(200, json::object{{"forwarders", std::move(a)}});
}

Response add_forwarder(Impl& app, Ctx& c) {
  return api_outcome(act_add_forwarder(app, c, c.p("domain"), c.in("local"), c.in("targets")));
}

Response del_forwarder(Impl& app, Ctx& c) { return api_outcome(act_del_forwarder(app, c, c.p("source"))); }

}  // namespace

void add_api_routes(Router<Handler>& r) {
  r.add("GET", "/api/domains", authed(list_domains));
  r.add("POST", "/api/domains", authed(add_domain));
  r.add("GET", "/api/domains/{domain}", authed(get_domain));
  r.add("DELETE", "/api/domains/{domain}", authed(del_domain));
  r.add("PUT", "/api/domains/{domain}/archive", authed(set_archive));
  r.add("GET", "/api/domains/{domain}/mailboxes", authed(list_mailboxes));
  r.add("POST", "/api/domains/{domain}/mailboxes", authed(add_mailbox));
  r.add("GET", "/api/domains/{domain}/forwarders", authed(list_forwarders));
  r.add("POST", "/api/domains/{domain}/forwarders", authed(add_forwarder));
  r.add("DELETE", "/api/forwarders/{source}", authed(del_forwarder));
  r.add("GET", "/api/mailboxes/{address}", authed(get_mailbox));
  r.add("PATCH", "/api/mailboxes/{address}", authed(patch_mailbox));
  r.add("DELETE", "/api/mailboxes/{address}", authed(del_mailbox));
  r.add("PUT", "/api/mailboxes/{address}/autoreply", authed(put_autoreply));
  r.add("DELETE", "/api/mailboxes/{address}/autoreply", authed(del_autoreply));
  r.add("PUT", "/api/mailboxes/{address}/forwarding", authed(put_forwarding));
  r.add("DELETE", "/api/mailboxes/{address}/forwarding", authed(del_forwarding));
}

}  // namespace tern::web::detail
