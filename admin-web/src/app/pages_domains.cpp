// Domains: list, add, delete, archive setting; one domain's page (mailboxes,
// forwarders, links to DNS and tracking).
#include <unordered_map>

#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

Html usage_bar(std::uint64_t used, std::uint64_t quota) {
  if (quota == 0) return render(R"(<span class="muted">{{u}} · no quota</span>)", {{"u", human_bytes(used)}});
  std::uint64_t pct = std::min<std::uint64_t>(100, used * 100 / quota);
  std::string cls = "w-" + std::to_string(pct / 5 * 5);
  return render(R"(<div class="bar" title="{{t}}"><span class="{{c}}{{hi}}"></span></div><span class="muted">{{u}} of {{q}}</span>)",
                {{"t", std::to_string(pct) + "%"}, {"c", cls}, {"hi", pct >= 90 ? " hi" : ""},
                 {"u", human_bytes(used)}, {"q", human_bytes(quota)}});
}

std::vector<std::string> visible_domains(Impl& app, const Principal& who) {
  std::vector<std::string> out;
  auto all = app.store.list_domains();
  if (!all) return out;
  for (auto& d : *all)
    if (who.can_domain(d)) out.push_back(d);
  return out;
}

Response domains_page(Impl& app, Ctx& c, const PageMessages& m, const std::string& value) {
  auto doms = visible_domains(app, *c.who);
  // One pass over the accounts for every domain's count and usage (1,000 domains).
  std::unordered_map<std::string, std::pair<std::size_t, std::uint64_t>> per;
  if (auto accts = app.store.list_accounts()) {
    for (auto& a : *accts) {
      auto& e = per[domain_of(a.address)];
      e.first++;
      e.second += a.usage.bytes;
    }
  }
  std::vector<Html> rows;
  for (auto& d : doms) {
    auto it = per.find(d);
    std::size_t n = it == per.end() ? 0 : it->second.first;
    std::uint64_t used = it == per.end() ? 0 : it->second.second;
    auto archive = app.store.get_domain_archive(d);
    std::string href = "/domains/" + percent_encode(d);
    rows.push_back(render(R"(<tr><td data-label="Domain"><a href="{{href}}">{{d}}</a></td><td data-label="Mailboxes" class="num">{{n}}</td><td data-label="Storage" class="num">{{used}}</td><td data-label="Archive">{{arch}}</td></tr>)",
                          {{"href", href}, {"d", d}, {"n", static_cast<std::uint64_t>(n)}, {"used", human_bytes(used)},
                           {"arch", archive && !archive->empty() ? text(*archive) : Html(R"(<span class="muted">off</span>)")}}));
  }
  Html add;
  if (c.who->is_global()) {
    add = render(R"(<section class="card"><h2>Add a domain</h2>{{ferr}}
<form method="post" action="/domains" class="inline">{{csrf}}
<div class="f"><label for="domain">Domain name</label><input id="domain" name="domain" type="text" placeholder="example.com" value="{{v}}" required maxlength="253">{{err}}</div>
<button type="submit" class="primary">Add domain</button></form></section>)",
                 {{"csrf", csrf_field(c)}, {"v", value}, {"err", field_error(m, "domain")}, {"ferr", form_error(m)}});
  }
  Html body = render(R"({{notice}}<h1>Domains</h1>{{add}}
<section class="card"><div class="table-wrap"><table class="responsive"><thead><tr><th>Domain</th><th class="num">Mailboxes</th><th class="num">Storage</th><th>Archive copy to</th></tr></thead>
<tbody>{{rows}}</tbody></table></div>{{empty}}</section>)",
                     {{"notice", notice(m)}, {"add", add}, {"rows", join(rows)},
                      {"empty", rows.empty() ? Html(R"(<p class="muted">No domains yet.</p>)") : Html()}});
  return page(app, c, "Domains", body, m.errors.empty() ? 200 : 422);
}

Response get_domains(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return redirect("/me");
  return domains_page(app, c, messages_from(c), "");
}

Response post_domains(Impl& app, Ctx& c) {
  if (!c.who->is_admin()) return forbidden(app, c);
  std::string d = c.form.get("domain");
  Outcome o = act_add_domain(app, c, d);
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return domains_page(app, c, messages_from(c, &o), d);
  return redirect("/domains/" + percent_encode(o.data.as_object()["domain"].as_string().c_str()) + "?ok=domain-added");
}

}  // namespace

Response domain_page(Impl& app, Ctx& c, const PageMessages& m, const Form& values) {
  std::string d = c.p("domain");
  if (!c.who->is_admin()) return forbidden(app, c);
  if (!c.who->can_domain(d)) return forbidden(app, c);
  if (!app.store.domain_exists(d)) return error_page(app, c, 404, "There is no such domain.");
  std::string base = "/domains/" + percent_encode(d);
  auto accts = app.store.list_accounts(d);
  std::vector<Html> rows;
  if (accts) {
    for (auto& a : *accts) {
      rows.push_back(render(R"(<tr><td data-label="Mailbox"><a href="/mailboxes/{{enc}}">{{a}}</a></td><td data-label="Status">{{st}}</td><td data-label="Messages" class="num">{{n}}</td><td data-label="Usage">{{bar}}</td></tr>)",
                            {{"enc", percent_encode(a.address)}, {"a", a.address},
                             {"st", a.enabled ? Html(R"(<span class="badge ok">active</span>)") : Html(R"(<span class="badge bad">disabled</span>)")},
                             {"n", a.usage.messages}, {"bar", usage_bar(a.usage.bytes, a.quota.bytes)}}));
    }
  }
  auto aliases = app.store.list_aliases(d);
  std::vector<Html> frows;
  if (aliases) {
    for (auto& al : *aliases) {
      std::vector<Html> ts;
      for (auto& t : al.targets) ts.push_back(render(R"(<div>{{t}}</div>)", {{"t", t}}));
      frows.push_back(render(R"(<tr><td data-label="Address">{{src}}</td><td data-label="Delivers to">{{ts}}</td><td data-label=""><form method="post" action="/forwarders/{{enc}}/delete" data-confirm="Delete the forwarder {{src}}?">{{csrf}}<button class="danger small" type="submit">Delete</button></form></td></tr>)",
                             {{"src", al.source.starts_with("@") ? "*" + al.source + " (catch-all)" : al.source},
                              {"enc", percent_encode(al.source)}, {"ts", join(ts)}, {"csrf", csrf_field(c)}}));
    }
  }
  auto archive = app.store.get_domain_archive(d);
  Html del;
  if (c.who->is_global()) {
    del = render(R"(<section class="card"><h2>Delete this domain</h2><p class="muted">Only a domain without mailboxes and forwarders can be deleted.</p>{{err}}
<form method="post" action="{{base}}/delete" data-confirm="Delete the domain {{d}}?">{{csrf}}<button type="submit" class="danger">Delete {{d}}</button></form></section>)",
                 {{"base", base}, {"d", d}, {"csrf", csrf_field(c)}, {"err", field_error(m, "domain")}});
  }
  Html body = render(R"({{notice}}<p class="muted"><a href="/domains">Domains</a> ›</p><h1>{{d}}</h1>
<p class="actions"><a href="{{base}}/dns">Email deliverability (DNS, DKIM)</a> · <a href="/tracking?domain={{denc}}">Track delivery</a> · <a href="/?domain={{denc}}">Statistics</a></p>
<section class="card"><h2>Mailboxes</h2>
<div class="table-wrap"><table class="responsive"><thead><tr><th>Mailbox</th><th>Status</th><th class="num">Messages</th><th>Usage</th></tr></thead><tbody>{{rows}}</tbody></table></div>{{mempty}}
<h3>Create a mailbox</h3>{{merr}}
<form method="post" action="{{base}}/mailboxes" class="inline">{{csrf}}
<div class="f"><label for="local">Address</label><input id="local" name="local" type="text" placeholder="name" value="{{local}}" required maxlength="64" autocomplete="off">{{lerr}}<span class="muted">@{{d}}</span></div>
<div class="f"><label for="password">Password</label><input id="password" name="password" type="password" required minlength="10" maxlength="1024" autocomplete="new-password">{{perr}}</div>
<div class="f"><label for="quota">Quota</label><input id="quota" name="quota" type="text" placeholder="1G, or 0 for unlimited" value="{{quota}}" maxlength="20">{{qerr}}</div>
<button type="submit" class="primary">Create mailbox</button></form></section>
<section class="card"><h2>Forwarders</h2>
<div class="table-wrap"><table class="responsive"><thead><tr><th>Address</th><th>Delivers to</th><th></th></tr></thead><tbody>{{frows}}</tbody></table></div>{{fempty}}
<h3>Add a forwarder</h3>{{fferr}}
<form method="post" action="{{base}}/forwarders" class="inline">{{csrf}}
<div class="f"><label for="flocal">Address</label><input id="flocal" name="local" type="text" placeholder="sales, or * for all other addresses" value="{{flocal}}" maxlength="64">{{flerr}}</div>
<div class="f"><label for="targets">Deliver to</label><input id="targets" name="targets" type="text" placeholder="a@example.com, b@example.net" value="{{targets}}" required maxlength="4000">{{terr}}</div>
<button type="submit" class="primary">Add forwarder</button></form>
<p class="muted">Targets may be local mailboxes or addresses elsewhere. “*” makes a catch-all for addresses that have no mailbox or forwarder.</p></section>
<section class="card"><h2>Archive</h2><p class="muted">A copy of every message to or from {{d}} goes to this mailbox.</p>
<form method="post" action="{{base}}/archive" class="inline">{{csrf}}
<div class="f"><label for="archive">Archive mailbox</label><input id="archive" name="archive" type="text" placeholder="off" value="{{arch}}" maxlength="254">{{aerr}}</div>
<button type="submit">Save</button></form></section>
{{del}})",
                     {{"notice", notice(m)}, {"d", d}, {"base", base}, {"denc", percent_encode(d)},
                      {"rows", join(rows)}, {"mempty", rows.empty() ? Html(R"(<p class="muted">No mailboxes yet.</p>)") : Html()},
                      {"csrf", csrf_field(c)}, {"merr", field_error(m, "mailbox")},
                      {"local", values.get("local")}, {"lerr", field_error(m, "local")},
                      {"perr", field_error(m, "password")}, {"quota", values.get("quota")}, {"qerr", field_error(m, "quota")},
                      {"frows", join(frows)}, {"fempty", frows.empty() ? Html(R"(<p class="muted">No forwarders yet.</p>)") : Html()},
                      {"fferr", field_error(m, "forwarder")}, {"flocal", values.get("flocal")}, {"flerr", field_error(m, "flocal")},
                      {"targets", values.get("targets")}, {"terr", field_error(m, "targets")},
                      {"arch", values.has("archive") ? values.get("archive") : (archive ? *archive : std::string())}, {"aerr", field_error(m, "archive")}, {"del", del}});
  return page(app, c, d, body, m.errors.empty() ? 200 : 422);
}

namespace {

Response get_domain(Impl& app, Ctx& c) { return domain_page(app, c, messages_from(c), {}); }

Response post_domain_delete(Impl& app, Ctx& c) {
  Outcome o = act_del_domain(app, c, c.p("domain"));
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return domain_page(app, c, messages_from(c, &o), {});
  return redirect("/domains?ok=domain-deleted");
}

Response post_archive(Impl& app, Ctx& c) {
  Outcome o = act_set_archive(app, c, c.p("domain"), c.form.get("archive"));
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return domain_page(app, c, messages_from(c, &o), c.form);
  return redirect("/domains/" + percent_encode(c.p("domain")) + "?ok=archive-saved");
}

Response post_mailbox(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  Outcome o = act_add_mailbox(app, c, d, c.form.get("local"), c.form.get("password"), c.form.get("quota"));
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) {
    // Re-show what was typed, except the password.
    Form keep({{"local", c.form.get("local")}, {"quota", c.form.get("quota")}});
    return domain_page(app, c, messages_from(c, &o), keep);
  }
  return redirect("/mailboxes/" + percent_encode(std::string(o.data.as_object()["address"].as_string())) + "?ok=mailbox-added");
}

Response post_forwarder(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  Outcome o = act_add_forwarder(app, c, d, c.form.get("local"), c.form.get("targets"));
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) {
    if (o.field == "local") o.field = "flocal";
    Form keep({{"flocal", c.form.get("local")}, {"targets", c.form.get("targets")}});
    return domain_page(app, c, messages_from(c, &o), keep);
  }
  return redirect("/domains/" + percent_encode(d) + "?ok=forwarder-added");
}

Response post_forwarder_delete(Impl& app, Ctx& c) {
  std::string src = c.p("source");
  Outcome o = act_del_forwarder(app, c, src);
  if (o.status == 403) return forbidden(app, c);
  if (!o.ok()) return error_page(app, c, o.status, o.message);
  std::string d = src.starts_with("@") ? src.substr(1) : domain_of(src);
  return redirect("/domains/" + percent_encode(d) + "?ok=forwarder-deleted");
}

}  // namespace

void add_domain_routes(Router<Handler>& r) {
  r.add("GET", "/domains", authed(get_domains));
  r.add("POST", "/domains", authed(post_domains));
  r.add("GET", "/domains/{domain}", authed(get_domain));
  r.add("POST", "/domains/{domain}/delete", authed(post_domain_delete));
  r.add("POST", "/domains/{domain}/archive", authed(post_archive));
  r.add("POST", "/domains/{domain}/mailboxes", authed(post_mailbox));
  r.add("POST", "/domains/{domain}/forwarders", authed(post_forwarder));
  r.add("POST", "/forwarders/{source}/delete", authed(post_forwarder_delete));
}

}  // namespace tern::web::detail
