// The page frame and the small shared pieces of markup (messages, CSRF field).
#include "app_impl.hpp"

namespace tern::web::detail {

namespace {

// Fixed notices shown after a redirect (?ok=KEY): never text from the request.
struct NoticeText {
  std::string_view key, text;
};
constexpr NoticeText kNotices[] = {
    {"domain-added", "Domain added."},
    {"domain-deleted", "Domain deleted."},
    {"archive-saved", "Archive setting saved."},
    {"mailbox-added", "Mailbox created."},
    {"mailbox-deleted", "Mailbox deleted."},
    {"password-saved", "Password changed. Every other session of this login was signed out."},
    {"quota-saved", "Quota saved."},
    {"enabled", "Mailbox enabled."},
    {"disabled", "Mailbox disabled."},
    {"forwarder-added", "Forwarder added."},
    {"forwarder-deleted", "Forwarder deleted."},
    {"autoreply-saved", "Auto-responder saved."},
    {"autoreply-off", "Auto-responder turned off."},
    {"queue-retry", "The message will be retried now."},
    {"queue-deleted", "Queue entry deleted."},
    {"dkim-generated", "DKIM key generated. Publish its TXT record (in the table) now."},
    {"dkim-rotated", "New DKIM keys made. Publish their TXT records; the old keys sign until DNS has them."},
    {"dkim-deleted", "DKIM key deleted. Mail is no longer signed with it."},
    {"forwarding-saved", "Forwarding saved."},
    {"forwarding-off", "Forwarding turned off: mail stays in this mailbox."},
};

Html nav(const Ctx& c) {
  if (!c.who) return Html();
  std::vector<Html> items;
  if (c.who->is_admin()) {
    items.push_back(Html(R"(<a href="/">Dashboard</a>)"));
    items.push_back(Html(R"(<a href="/domains">Domains</a>)"));
    items.push_back(Html(R"(<a href="/tracking">Track delivery</a>)"));
    if (c.who->global) items.push_back(Html(R"(<a href="/queue">Queue</a>)"));
  } else {
    items.push_back(Html(R"(<a href="/me">My mailbox</a>)"));
  }
  return render(R"(<nav aria-label="Main">{{items}}</nav>
<form method="post" action="/logout" class="logout">{{csrf}}<span class="who">{{who}}</span><button type="submit" class="link">Sign out</button></form>)",
                {{"items", join(items)}, {"csrf", csrf_field(c)}, {"who", c.who->name}});
}

}  // namespace

Html csrf_field(const Ctx& c) {
  return render(R"(<input type="hidden" name="_csrf" value="{{t}}">)", {{"t", c.session.csrf}});
}

Html field_error(const PageMessages& m, const std::string& field) {
  auto it = m.errors.find(field);
  if (it == m.errors.end()) return Html();
  return render(R"(<p class="field-error" role="alert">{{m}}</p>)", {{"m", it->second}});
}

Html form_error(const PageMessages& m) { return field_error(m, ""); }

Html notice(const PageMessages& m) {
  if (m.notice.empty()) return Html();
  return render(R"(<p class="notice" role="status">{{m}}</p>)", {{"m", m.notice}});
}

std::string notice_for(const Ctx& c) {
  std::string key = c.form.get("ok");
  for (auto& n : kNotices)
    if (n.key == key) return std::string(n.text);
  return {};
}

PageMessages messages_from(const Ctx& c, const Outcome* o) {
  PageMessages m;
  m.notice = notice_for(c);
  if (o && !o->ok()) m.errors[o->field] = o->message;
  return m;
}

Response page(Impl& app, Ctx& c, std::string_view title, const Html& body, int status) {
  Response r;
  r.status = status;
  r.set("content-type", "text/html; charset=utf-8");
  r.body = render(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · tern</title>
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/"><span class="logo" aria-hidden="true">✉</span> tern <span class="host">{{host}}</span></a>{{nav}}</header>
<main>
{{body}}
</main>
<footer>tern {{version}} · mail server administration</footer>
</body>
</html>
)",
                  {{"title", title}, {"host", app.cfg.hostname}, {"nav", nav(c)}, {"body", body},
                   {"version", TERN_VERSION}})
               .str();
  return r;
}

Html error_page_body(std::string_view message) {
  return render(R"(<section class="card"><h1>Sorry</h1><p class="error">{{m}}</p><p><a href="/">Back to the start</a></p></section>)",
                {{"m", message}});
}

Response error_page(Impl& app, Ctx& c, int status, std::string_view message) {
  return page(app, c, status_reason(status), error_page_body(message), status);
}

Response forbidden(Impl& app, Ctx& c) {
  if (c.api) return api_error(403, "you may not see or change this");
  return error_page(app, c, 403, "You may not see or change this.");
}

}  // namespace tern::web::detail
