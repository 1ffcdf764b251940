// One mailbox: usage per folder, password, quota, enable/disable, auto-responder,
// forwarding of its own mail (keep a copy or not), client settings, delete (with what
// is lost). Admins reach it at /mailboxes/ADDR;
// the mailbox user at /me (self-service: password, auto-responder, forwarding, usage).
#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

std::string base_for(const Ctx& c, const std::string& address) {
  return c.who->is_admin() ? "/mailboxes/" + percent_encode(address) : "/me";
}

}  // namespace

Response mailbox_page(Impl& app, Ctx& c, const std::string& address, const PageMessages& m, const Form& values) {
  if (!c.who->can_address(address)) return forbidden(app, c);
  auto a = app.store.get_account(address);
  if (!a) return error_page(app, c, 404, "There is no such mailbox.");
  bool admin = c.who->is_admin();
  std::string base = base_for(c, address);
  std::string d = domain_of(address);

  auto folders = app.store.list_mailboxes(a->id);
  std::vector<Html> frows;
  std::uint64_t nfolders = 0;
  if (folders) {
    nfolders = folders->size();
    for (auto& f : *folders)
      frows.push_back(render(R"(<tr><td data-label="Folder">{{n}}</td><td data-label="Messages" class="num">{{m}}</td><td data-label="Unread" class="num">{{u}}</td><td data-label="Size" class="num">{{s}}</td></tr>)",
                             {{"n", f.name}, {"m", static_cast<std::uint64_t>(f.messages)},
                              {"u", static_cast<std::uint64_t>(f.unseen)}, {"s", human_bytes(f.size)}}));
  }
  std::vector<std::string> pointing;
  if (auto al = app.store.list_aliases(d)) {
    for (auto& x : *al)
      for (auto& t : x.targets)
        if (t == address) pointing.push_back(x.source);
  }
  std::vector<Html> prow;
  for (auto& s : pointing) prow.push_back(render(R"(<li>{{s}}</li>)", {{"s", s}}));

  auto ar = app.store.get_autoreply(address);
  std::optional<store::AutoReply> reply;
  if (ar && ar->has_value()) reply = **ar;
  auto val = [&](const char* k, const std::string& dflt) { return values.has(k) ? values.get(k) : dflt; };
  std::string ar_subject = val("subject", reply ? reply->subject : "");
  std::string ar_body = val("body", reply ? reply->body : "");
  std::string ar_days = val("days", reply ? std::to_string(reply->days) : "7");
  std::string ar_start = val("start", reply && reply->start ? format_date(reply->start) : "");
  std::string ar_end = val("end", reply && reply->end ? format_date(reply->end - 86400) : "");
  Html ar_state = reply ? Html(R"(<span class="badge ok">on</span>)") : Html(R"(<span class="badge">off</span>)");

  auto fw = app.store.get_forwarding(address);
  std::optional<store::Forwarding> forwarding;
  if (fw && fw->has_value()) forwarding = **fw;
  std::string fw_joined;
  if (forwarding)
    for (auto& t : forwarding->targets) fw_joined += (fw_joined.empty() ? "" : ", ") + t;
  std::string fw_targets = val("fwd_targets", fw_joined);
  // The box is ticked unless the saved (or just submitted) setting says otherwise.
  bool keep = values.has("fwd_targets") ? values.get("keep_copy") == "on" : (!forwarding || forwarding->keep_copy);
  Html fw_state = forwarding ? (forwarding->keep_copy ? Html(R"(<span class="badge ok">on, keeping a copy</span>)")
                                                      : Html(R"(<span class="badge warn">on, no copy kept</span>)"))
                             : Html(R"(<span class="badge">off</span>)");

  std::uint64_t pct = a->quota.bytes ? std::min<std::uint64_t>(100, a->usage.bytes * 100 / a->quota.bytes) : 0;
  Html admin_parts;
  if (admin) {
    admin_parts = render(R"(<section class="card"><h2>Quota and status</h2>
<form method="post" action="{{base}}/quota" class="inline">{{csrf}}
<div class="f"><label for="quota">Quota</label><input id="quota" name="quota" type="text" value="{{q}}" maxlength="20" placeholder="1G, or 0 for unlimited">{{qerr}}</div>
<button type="submit">Save quota</button></form>
<div class="actions">
<form method="post" action="{{base}}/{{toggle}}">{{csrf}}<button type="submit" class="{{tcls}}">{{tlabel}}</button></form></div>
</section>
<section class="card"><h2>Delete this mailbox</h2>
<p>Deleting <strong>{{a}}</strong> removes for good: <strong>{{n}} messages ({{size}})</strong> in {{nf}} folders, its password, its auto-responder and its settings. Forwarders that deliver to it ({{np}}) stay and will bounce.</p>
{{cerr}}<form method="post" action="{{base}}/delete" class="inline">{{csrf}}
<div class="f"><label for="confirm">Type the address to confirm</label><input id="confirm" name="confirm" type="text" autocomplete="off" maxlength="254" placeholder="{{a}}"></div>
<button type="submit" class="danger solid">Delete mailbox</button></form></section>)",
                         {{"base", base}, {"csrf", csrf_field(c)},
                          {"q", val("quota", a->quota.bytes ? human_bytes(a->quota.bytes) : "0")},
                          {"qerr", field_error(m, "quota")},
                          {"toggle", a->enabled ? "disable" : "enable"},
                          {"tcls", a->enabled ? "danger" : "primary"},
                          {"tlabel", a->enabled ? "Disable mailbox (refuse logins and mail)" : "Enable mailbox"},
                          {"a", address}, {"n", a->usage.messages}, {"size", human_bytes(a->usage.bytes)},
                          {"nf", nfolders}, {"np", static_cast<std::uint64_t>(pointing.size())},
                          {"cerr", field_error(m, "confirm")}});
  }
  Html crumbs = admin ? render(R"(<p class="muted"><a href="/domains">Domains</a> › <a href="/domains/{{de}}">{{d}}</a> ›</p>)",
                               {{"de", percent_encode(d)}, {"d", d}})
                      : Html();
  Html body = render(R"({{notice}}{{crumbs}}<h1>{{a}}</h1>
<div class="grid">
<section class="card stat"><span class="l">Status</span><span class="n">{{status}}</span></section>
<section class="card stat"><span class="l">Storage used</span><span class="n">{{used}}</span><span class="l">{{quota}}</span></section>
<section class="card stat"><span class="l">Messages</span><span class="n">{{msgs}}</span><span class="l">created {{created}}</span></section>
</div>
<section class="card"><h2>Usage per folder</h2><div class="table-wrap"><table class="responsive"><thead><tr><th>Folder</th><th class="num">Messages</th><th class="num">Unread</th><th class="num">Size</th></tr></thead><tbody>{{frows}}</tbody></table></div></section>
<section class="card"><h2>Password</h2><p class="muted">Changing the password signs out every session of this mailbox.</p>
<form method="post" action="{{base}}/password" class="stack">{{csrf}}
<label for="password">New password</label><input id="password" name="password" type="password" minlength="10" maxlength="1024" required autocomplete="new-password">{{perr}}
<label for="confirm2">Repeat it</label><input id="confirm2" name="confirm" type="password" minlength="10" maxlength="1024" required autocomplete="new-password">{{cperr}}
<button type="submit" class="primary">Change password</button></form></section>
<section class="card"><h2>Auto-responder {{arstate}}</h2>
<form method="post" action="{{base}}/autoreply" class="stack">{{csrf}}
<label for="subject">Subject</label><input id="subject" name="subject" type="text" maxlength="200" value="{{ars}}" required>{{serr}}
<label for="body">Message</label><textarea id="body" name="body" maxlength="65536" required>{{arb}}</textarea>{{berr}}
<label for="start">First day (optional)</label><input id="start" name="start" type="date" value="{{arst}}">{{sterr}}
<label for="end">Last day (optional)</label><input id="end" name="end" type="date" value="{{aren}}">{{enerr}}
<label for="days">Reply to the same sender at most once every … days</label><input id="days" name="days" type="number" min="1" max="365" value="{{ard}}">{{derr}}
<button type="submit" class="primary">Save auto-responder</button></form>
{{aroff}}</section>
<section class="card" id="forwarding"><h2>Forwarding {{fwstate}}</h2>
<p class="muted">Send mail that arrives for {{a}} on to other addresses, here or elsewhere. Without “keep a copy”, it is not stored in this mailbox.</p>
<form method="post" action="{{base}}/forwarding" class="stack">{{csrf}}
<label for="fwd_targets">Forward to</label><input id="fwd_targets" name="fwd_targets" type="text" maxlength="4000" value="{{fwt}}" placeholder="me@example.net, partner@example.com">{{fwerr}}
<label class="check"><input type="checkbox" id="keep_copy" name="keep_copy" value="on" {{fwkeep}}> Keep a copy in this mailbox</label>
<button type="submit" class="primary">Save forwarding</button></form>
{{fwoff}}</section>
<section class="card"><h2>Addresses forwarding here</h2>{{plist}}</section>
{{admin}}
{{client}})",
                     {{"notice", notice(m)}, {"crumbs", crumbs}, {"a", address},
                      {"status", a->enabled ? Html(R"(<span class="badge ok">active</span>)") : Html(R"(<span class="badge bad">disabled</span>)")},
                      {"used", human_bytes(a->usage.bytes)},
                      {"quota", a->quota.bytes ? std::to_string(pct) + "% of " + human_bytes(a->quota.bytes) : std::string("no quota")},
                      {"msgs", a->usage.messages}, {"created", format_date(a->created)},
                      {"frows", join(frows)}, {"base", base}, {"csrf", csrf_field(c)},
                      {"perr", field_error(m, "password")}, {"cperr", field_error(m, "confirm_pw")},
                      {"arstate", ar_state}, {"ars", ar_subject}, {"serr", field_error(m, "subject")},
                      {"arb", ar_body}, {"berr", field_error(m, "body")}, {"arst", ar_start}, {"sterr", field_error(m, "start")},
                      {"aren", ar_end}, {"enerr", field_error(m, "end")}, {"ard", ar_days}, {"derr", field_error(m, "days")},
                      {"aroff", reply ? render(R"(<form method="post" action="{{base}}/autoreply/off">{{csrf}}<button type="submit" class="danger small">Turn off</button></form>)",
                                               {{"base", base}, {"csrf", csrf_field(c)}})
                                      : Html()},
                      {"fwstate", fw_state}, {"fwt", fw_targets}, {"fwerr", field_error(m, "fwd_targets")},
                      {"fwkeep", keep ? "checked" : ""},
                      {"fwoff", forwarding ? render(R"(<form method="post" action="{{base}}/forwarding/off">{{csrf}}<button type="submit" class="danger small">Turn forwarding off</button></form>)",
                                                    {{"base", base}, {"csrf", csrf_field(c)}})
                                           : Html()},
                      {"plist", prow.empty() ? Html(R"(<p class="muted">None.</p>)") : render(R"(<ul>{{l}}</ul>)", {{"l", join(prow)}})},
                      {"admin", admin_parts}, {"client", client_settings_html(app, address)}});
  return page(app, c, address, body, m.errors.empty() ? 200 : 422);
}

namespace {

std::string target_address(const Ctx& c) { return c.who->is_admin() ? c.p("address") : c.who->name; }

Response after(Impl& app, Ctx& c, const Outcome& o, const char* ok_key, const Form& keep = {}) {
  std::string addr = target_address(c);
  if (o.status == 403) return forbidden(app, c);
  if (o.status == 404) return error_page(app, c, 404, "There is no such mailbox.");
  if (!o.ok()) return mailbox_page(app, c, addr, messages_from(c, &o), keep);
  return redirect(base_for(c, addr) + "?ok=" + ok_key);
}

Response get_mailbox(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return redirect("/me");
  return mailbox_page(app, c, c.p("address"), messages_from(c), {});
}

Response get_me(Impl& app, Ctx& c) {
  if (c.who->is_admin()) return redirect("/");
  return mailbox_page(app, c, c.who->name, messages_from(c), {});
}

Response post_password(Impl& app, Ctx& c) {
  std::string addr = target_address(c);
  Outcome o = act_set_password(app, c, addr, c.form.get("password"), c.form.get("confirm"));
  if (o.field == "confirm") o.field = "confirm_pw";
  if (o.ok() && !c.who->is_admin()) {
    // The user changed their own password: every session is now stale, this one
    // included; give this browser a fresh one.
    auto who = load_principal(app, c.who->id(), nullptr);
    if (!c.session.token.empty()) (void)app.store.del_session(c.session.token);
    if (who) return start_session(app, c, *who, "/me?ok=password-saved");
  }
  return after(app, c, o, "password-saved");
}

Response post_quota(Impl& app, Ctx& c) {
  return after(app, c, act_set_quota(app, c, target_address(c), c.form.get("quota")), "quota-saved",
               Form({{"quota", c.form.get("quota")}}));
}
Response post_enable(Impl& app, Ctx& c) { return after(app, c, act_set_enabled(app, c, target_address(c), true), "enabled"); }
Response post_disable(Impl& app, Ctx& c) { return after(app, c, act_set_enabled(app, c, target_address(c), false), "disabled"); }

Response post_delete(Impl& app, Ctx& c) {
  std::string addr = target_address(c);
  Outcome o = act_del_mailbox(app, c, addr, c.form.get("confirm"));
  if (!o.ok()) return after(app, c, o, "");
  return redirect("/domains/" + percent_encode(domain_of(addr)) + "?ok=mailbox-deleted");
}

Response post_autoreply(Impl& app, Ctx& c) {
  return after(app, c, act_set_autoreply(app, c, target_address(c), c), "autoreply-saved", c.form);
}
Response post_autoreply_off(Impl& app, Ctx& c) {
  return after(app, c, act_clear_autoreply(app, c, target_address(c)), "autoreply-off");
}
Response post_forwarding(Impl& app, Ctx& c) {
  Outcome o = act_set_forwarding(app, c, target_address(c), c.form.get("fwd_targets"), c.form.get("keep_copy") == "on");
  return after(app, c, o, "forwarding-saved",
               Form({{"fwd_targets", c.form.get("fwd_targets")}, {"keep_copy", c.form.get("keep_copy")}}));
}
Response post_forwarding_off(Impl& app, Ctx& c) {
  return after(app, c, act_clear_forwarding(app, c, target_address(c)), "forwarding-off");
}

}  // namespace

void add_mailbox_routes(Router<Handler>& r) {
  r.add("GET", "/mailboxes/{address}", authed(get_mailbox));
  r.add("POST", "/mailboxes/{address}/password", authed(post_password));
  r.add("POST", "/mailboxes/{address}/quota", authed(post_quota));
  r.add("POST", "/mailboxes/{address}/enable", authed(post_enable));
  r.add("POST", "/mailboxes/{address}/disable", authed(post_disable));
  r.add("POST", "/mailboxes/{address}/delete", authed(post_delete));
  r.add("POST", "/mailboxes/{address}/autoreply", authed(post_autoreply));
  r.add("POST", "/mailboxes/{address}/autoreply/off", authed(post_autoreply_off));
  r.add("POST", "/mailboxes/{address}/forwarding", authed(post_forwarding));
  r.add("POST", "/mailboxes/{address}/forwarding/off", authed(post_forwarding_off));
}

void add_self_routes(Router<Handler>& r) {
  r.add("GET", "/me", authed(get_me));
  r.add("POST", "/me/password", authed(post_password));
  r.add("POST", "/me/autoreply", authed(post_autoreply));
  r.add("POST", "/me/autoreply/off", authed(post_autoreply_off));
  r.add("POST", "/me/forwarding", authed(post_forwarding));
  r.add("POST", "/me/forwarding/off", authed(post_forwarding_off));
}

}  // namespace tern::web::detail
