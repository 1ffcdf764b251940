// "Email Deliverability": the records `ternctl dns DOMAIN` prints (the same
// checks::plan_input + plan_dns_records), each with a copy button and its state in live
// DNS (present / missing / different / could not check: looked up by the driver with
// the shared resolver, App::dns_job), the MTA-STS policy, and the domain's DKIM keys
// (generate, rotate with a confirmation naming the old selectors, delete). Also the
// same as JSON under /api/domains/D/dns and /api/domains/D/dkim.
#include <algorithm>

#include "app_impl.hpp"
#include "tern/dkim/key.hpp"

namespace tern::web::detail {

checks::DnsPlan dns_plan(Impl& app, const std::string& domain) {
  std::vector<checks::DkimPem> pems;
  if (auto keys = app.store.get_dkim_keys(domain))
    for (const auto& k : *keys) pems.push_back({k.selector, k.private_key_pem});
  return checks::plan_dns_records(checks::plan_input(app.cfg, domain, pems));
}

namespace {

using checks::RecordStatus;

const checks::RecordCheck* live_of(const Ctx& c, const checks::DnsPlan& plan, std::size_t i) {
  if (!c.dns || c.dns->records.size() != plan.records.size()) return nullptr;
  return &c.dns->records[i];
}

Html status_badge(const checks::RecordCheck* ck) {
  if (!ck || ck->status == RecordStatus::unchecked) return Html(R"(<span class="badge">not checked</span>)");
  switch (ck->status) {
    case RecordStatus::present: return Html(R"(<span class="badge ok">present</span>)");
    case RecordStatus::missing: return Html(R"(<span class="badge bad">missing</span>)");
    case RecordStatus::different: return Html(R"(<span class="badge warn">different</span>)");
    default: return render(R"(<span class="badge" title="{{e}}">could not check</span>)", {{"e", ck->error}});
  }
}

std::string status_name(const checks::RecordCheck* ck) {
  if (!ck || ck->status == RecordStatus::unchecked) return "unchecked";
  return std::string(checks::to_string(ck->status));
}

struct KeyView {
  store::DkimKey key;
  unsigned bits = 0;
};

std::vector<KeyView> key_views(Impl& app, const std::string& d) {
  std::vector<KeyView> out;
  if (auto keys = app.store.get_dkim_keys(d)) {
    for (auto& k : *keys) {
      std::string err;
      auto pk = dkim::PrivateKey::from_pem(k.private_key_pem, &err);
      out.push_back({k, pk ? pk->bits() : 0});
    }
  }
  return out;
}

Response dns_page(Impl& app, Ctx& c, const PageMessages& m, const Form& values) {
  std::string d = c.p("domain");
  if (!c.who->is_admin() || !c.who->can_domain(d)) return forbidden(app, c);
  if (!app.store.domain_exists(d)) return error_page(app, c, 404, "There is no such domain.");
  std::string base = "/domains/" + percent_encode(d);
  checks::DnsPlan plan = dns_plan(app, d);
  std::size_t n_present = 0, n_missing = 0, n_different = 0, n_unknown = 0;
  std::vector<Html> rows;
  for (std::size_t i = 0; i < plan.records.size(); ++i) {
    const auto& r = plan.records[i];
    const checks::RecordCheck* ck = live_of(c, plan, i);
    if (ck) {
      if (ck->status == RecordStatus::present) ++n_present;
      else if (ck->status == RecordStatus::missing) ++n_missing;
      else if (ck->status == RecordStatus::different) ++n_different;
      else if (ck->status == RecordStatus::unknown) ++n_unknown;
    }
    Html published;
    if (ck && ck->status == RecordStatus::different) {
      std::vector<Html> ps;
      for (auto& p : ck->published) ps.push_back(render(R"(<div><code>{{p}}</code></div>)", {{"p", p}}));
      published = render(R"(<div class="published"><span class="muted">Published now:</span>{{ps}}</div>)", {{"ps", join(ps)}});
    } else if (ck && ck->status == RecordStatus::unknown) {
      published = render(R"(<div class="muted">DNS lookup failed: {{e}}</div>)", {{"e", ck->error}});
    }
    rows.push_back(render(R"(<tr class="rec" data-status="{{sn}}" data-name="{{name}}" data-type="{{type}}"><td data-label="Status">{{badge}}</td><td data-label="Purpose">{{purpose}}</td><td data-label="Name" class="mono">{{name}}</td><td data-label="Type">{{type}}</td><td data-label="Value" class="val"><code>{{value}}</code>{{published}}<div class="muted">{{note}}</div></td><td data-label=""><button type="button" class="small" data-copy="{{zone}}">Copy</button></td></tr>)",
                          {{"sn", status_name(ck)}, {"badge", status_badge(ck)}, {"purpose", r.purpose}, {"name", r.name},
                           {"type", r.type}, {"value", r.value}, {"published", published}, {"note", r.note},
                           {"zone", r.zone_line()}}));
  }
  Html summary;
  if (c.dns) {
    std::string ns;
    for (auto& x : c.dns->nameservers) ns += (ns.empty() ? "" : ", ") + x;
    bool ours = std::find(c.dns->nameservers.begin(), c.dns->nameservers.end(), app.cfg.hostname) != c.dns->nameservers.end();
    Html where = !c.dns->nameservers_known
                     ? Html(R"(<p class="muted">The zone's name servers could not be looked up.</p>)")
                     : ours ? Html(R"(<p class="muted">The zone's name servers include this host.</p>)")
                            : render(R"(<p class="muted">DNS for this domain is hosted elsewhere{{ns}}: add the missing records at that provider.</p>)",
                                     {{"ns", ns.empty() ? std::string() : " (" + ns + ")"}});
    summary = render(R"(<div class="grid">
<section class="card stat"><span class="l">Present</span><span class="n" id="n-present">{{p}}</span></section>
<section class="card stat"><span class="l">Different</span><span class="n" id="n-different">{{df}}</span></section>
<section class="card stat"><span class="l">Missing</span><span class="n" id="n-missing">{{mi}}</span></section>
<section class="card stat"><span class="l">Could not check</span><span class="n" id="n-unknown">{{u}}</span></section>
</div>{{where}})",
                     {{"p", static_cast<std::uint64_t>(n_present)}, {"df", static_cast<std::uint64_t>(n_different)},
                      {"mi", static_cast<std::uint64_t>(n_missing)}, {"u", static_cast<std::uint64_t>(n_unknown)},
                      {"where", where}});
  } else {
    summary = Html(R"(<p class="muted">Live DNS was not checked (no resolver).</p>)");
  }

  auto keys = key_views(app, d);
  std::vector<store::DkimKey> raw;
  std::vector<Html> krows;
  for (auto& k : keys) {
    raw.push_back(k.key);
    std::string sel = k.key.selector;
    krows.push_back(render(R"(<tr><td data-label="Selector" class="mono">{{sel}}</td><td data-label="Algorithm">{{alg}}</td><td data-label="Bits" class="num">{{bits}}</td><td data-label="Created">{{created}}</td>
<td data-label=""><form method="post" action="{{base}}/dkim/{{selenc}}/delete" class="inline" data-confirm="Delete the DKIM key {{sel}}? Mail is no longer signed with it; verifiers fail its old signatures once its DNS record is removed.">{{csrf}}
<div class="f"><label for="confirm_{{sel}}">Type {{sel}} to delete</label><input id="confirm_{{sel}}" name="confirm" type="text" maxlength="63" autocomplete="off">{{err}}</div>
<button type="submit" class="small danger">Delete key</button></form></td></tr>)",
                           {{"sel", sel}, {"selenc", percent_encode(sel)}, {"alg", k.key.algorithm}, {"bits", k.bits},
                            {"created", format_date(k.key.created)}, {"base", base}, {"csrf", csrf_field(c)},
                            {"err", field_error(m, "confirm_" + sel)}}));
  }
  std::string algo = values.get("algorithm");
  Html rotate;
  if (!keys.empty()) {
    std::string warn = rotation_warning(raw);
    rotate = render(R"(<h3>Rotate the keys</h3><p class="rotate-warning">{{w}}</p>{{err}}
<form method="post" action="{{base}}/dkim/rotate" class="stack" data-confirm="{{w}}">{{csrf}}
<label class="check"><input type="checkbox" id="rotate_confirm" name="confirm" value="yes"> I understand what happens to the old selector</label>
<button type="submit" class="danger">Rotate DKIM keys</button></form>)",
                    {{"w", warn}, {"err", field_error(m, "rotate")}, {"base", base}, {"csrf", csrf_field(c)}});
  }
  Html body = render(R"({{notice}}<p class="muted"><a href="/domains">Domains</a> › <a href="{{base}}">{{d}}</a> ›</p><h1>Email deliverability</h1>
<p class="muted">The DNS records {{d}} needs so that mail from it is delivered and clients find their settings: the same list as <code>ternctl dns {{d}}</code>. Each is compared with what DNS publishes now.</p>
{{summary}}
<section class="card"><h2>Records</h2><div class="table-wrap"><table class="responsive dns"><thead><tr><th>Status</th><th>Purpose</th><th>Name</th><th>Type</th><th>Value</th><th></th></tr></thead><tbody>{{rows}}</tbody></table></div></section>
<section class="card"><h2>MTA-STS policy</h2><p class="muted">Served at https://mta-sts.{{d}}/.well-known/mta-sts.txt</p><pre class="mono policy">{{policy}}</pre><button type="button" class="small" data-copy="{{policy}}">Copy</button></section>
<section class="card" id="dkim"><h2>DKIM keys</h2>
<div class="table-wrap"><table class="responsive"><thead><tr><th>Selector</th><th>Algorithm</th><th class="num">Bits</th><th>Created</th><th></th></tr></thead><tbody>{{krows}}</tbody></table></div>{{kempty}}
<h3>Generate a key</h3>{{gerr}}
<form method="post" action="{{base}}/dkim" class="inline">{{csrf}}
<div class="f"><label for="selector">Selector</label><input id="selector" name="selector" type="text" maxlength="63" placeholder="empty: dated, e.g. t20261201r" value="{{sel}}" autocomplete="off">{{serr}}</div>
<div class="f"><label for="algorithm">Algorithm</label><select id="algorithm" name="algorithm"><option value="rsa" {{rsel}}>RSA 2048</option><option value="ed25519" {{esel}}>Ed25519</option></select>{{aerr}}</div>
<button type="submit" class="primary">Generate key</button></form>
<p class="muted">Mail is signed once per algorithm, by the newest key whose record DNS publishes.</p>
{{rotate}}</section>)",
                     {{"notice", notice(m)}, {"base", base}, {"d", d}, {"summary", summary}, {"rows", join(rows)},
                      {"policy", plan.mta_sts_policy}, {"krows", join(krows)},
                      {"kempty", keys.empty() ? Html(R"(<p class="muted">No DKIM key yet: mail from this domain is not signed.</p>)") : Html()},
                      {"gerr", field_error(m, "")}, {"csrf", csrf_field(c)}, {"sel", values.get("selector")},
                      {"serr", field_error(m, "selector")}, {"rsel", algo == "ed25519" ? "" : "selected"},
                      {"esel", algo == "ed25519" ? "selected" : ""}, {"aerr", field_error(m, "algorithm")},
                      {"rotate", rotate}});
  return page(app, c, "Email deliverability · " + d, body, m.errors.empty() ? 200 : 422);
}

Response get_dns(Impl& app, Ctx& c) { return dns_page(app, c, messages_from(c), {}); }

Response page_after(Impl& app, Ctx& c, const Outcome& o, const char* ok_key, const Form& keep = {}) {
  if (o.status == 403) return forbidden(app, c);
  if (o.status == 404) return error_page(app, c, 404, "There is no such domain.");
  if (!o.ok()) return dns_page(app, c, messages_from(c, &o), keep);
  return redirect("/domains/" + percent_encode(c.p("domain")) + "/dns?ok=" + ok_key + "#dkim");
}

Response post_generate(Impl& app, Ctx& c) {
  Outcome o = act_dkim_generate(app, c, c.p("domain"), c.form.get("selector"), c.form.get("algorithm"));
  return page_after(app, c, o, "dkim-generated",
                    Form({{"selector", c.form.get("selector")}, {"algorithm", c.form.get("algorithm")}}));
}

Response post_rotate(Impl& app, Ctx& c) {
  return page_after(app, c, act_dkim_rotate(app, c, c.p("domain"), c.form.get("confirm") == "yes"), "dkim-rotated");
}

Response post_delete_key(Impl& app, Ctx& c) {
  return page_after(app, c, act_dkim_delete(app, c, c.p("domain"), c.p("selector"), c.form.get("confirm")),
                    "dkim-deleted");
}

// ---------------------------------------------------------------- API
Response api_dns(Impl& app, Ctx& c) {
  std::string d = c.p("domain");
  if (!c.who->is_admin() || !c.who->can_domain(d)) return api_error(403, "you may not see or change this");
  if (!app.store.domain_exists(d)) return api_error(404, "no such domain");
  checks::DnsPlan plan = dns_plan(app, d);
  json::array recs;
  for (std::size_t i = 0; i < plan.records.size(); ++i) {
    const auto& r = plan.records[i];
    const checks::RecordCheck* ck = live_of(c, plan, i);
    json::object o{{"purpose", r.purpose}, {"name", r.name}, {"type", r.type}, {"value", r.value},
                   {"note", r.note}, {"zone_line", r.zone_line()}, {"status", status_name(ck)}};
    json::array pub;
    if (ck)
      for (auto& p : ck->published) pub.push_back(json::value(p));
    o["published"] = std::move(pub);
    if (ck && !ck->error.empty()) o["error"] = ck->error;
    recs.push_back(std::move(o));
  }
  json::object out{{"domain", d}, {"hostname", app.cfg.hostname}, {"records", std::move(recs)},
                   {"mta_sts_policy", plan.mta_sts_policy}, {"checked", c.dns != nullptr}};
  if (c.dns) {
    json::array ns;
    for (auto& x : c.dns->nameservers) ns.push_back(json::value(x));
    out["nameservers"] = std::move(ns);
    out["nameservers_known"] = c.dns->nameservers_known;
  }
  json::array keys;
  for (auto& k : key_views(app, d))
    keys.push_back(json::object{{"selector", k.key.selector}, {"algorithm", k.key.algorithm}, {"bits", k.bits},
                                {"created", k.key.created}});
  out["dkim_keys"] = std::move(keys);
  return json_response(200, out);
}

Response api_generate(Impl& app, Ctx& c) {
  return api_outcome(act_dkim_generate(app, c, c.p("domain"), c.in("selector"), c.in("algorithm")));
}
Response api_rotate(Impl& app, Ctx& c) { return api_outcome(act_dkim_rotate(app, c, c.p("domain"), c.in_bool("confirm"))); }
Response api_delete_key(Impl& app, Ctx& c) {
  // The same confirmation as the page: {"confirm": SELECTOR} or ?confirm=SELECTOR.
  std::string confirm = c.body.contains("confirm") ? c.in("confirm") : c.form.get("confirm");
  return api_outcome(act_dkim_delete(app, c, c.p("domain"), c.p("selector"), confirm));
}

}  // namespace

void add_dns_routes(Router<Handler>& r) {
  r.add("GET", "/domains/{domain}/dns", authed(get_dns));
  r.add("POST", "/domains/{domain}/dkim", authed(post_generate));
  r.add("POST", "/domains/{domain}/dkim/rotate", authed(post_rotate));
  r.add("POST", "/domains/{domain}/dkim/{selector}/delete", authed(post_delete_key));
  r.add("GET", "/api/domains/{domain}/dns", authed(api_dns));
  r.add("POST", "/api/domains/{domain}/dkim", authed(api_generate));
  r.add("POST", "/api/domains/{domain}/dkim/rotate", authed(api_rotate));
  r.add("DELETE", "/api/domains/{domain}/dkim/{selector}", authed(api_delete_key));
}

}  // namespace tern::web::detail
