// Client autoconfiguration, all from one generator (client_settings()):
//  - Thunderbird autoconfig: /.well-known/autoconfig/mail/config-v1.1.xml and
//    /mail/config-v1.1.xml (served for autoconfig.DOMAIN), ?emailaddress=
//  - Outlook autodiscover: POST /autodiscover/autodiscover.xml (POX, the 2006
//    request/response schemas) and GET /autodiscover/autodiscover.json/v1.0/ADDR (v2)
//  - Apple configuration profile per mailbox: /mailboxes/ADDR/apple.mobileconfig, /me/apple.mobileconfig
//  - PACC: /.well-known/user-agent-configuration.json (draft-ietf-mailmaint-pacc: Direct TLS only)
//  - the "Client settings" section of a mailbox page.
// Hosts and ports come from the config: hostname and the first address of each listener.
#include "app_impl.hpp"
#include "tern/util/digest.hpp"

namespace tern::web::detail {

namespace {

struct Server {
  std::string protocol;  // "imap", "pop3", "smtp"
  std::string host;
  std::uint16_t port = 0;
  bool implicit_tls = false;  // SSL/TLS from the first byte; else STARTTLS
};

std::vector<Server> client_settings(const config::Config& cfg) {
  std::vector<Server> out;
  auto add = [&](const char* proto, const config::Listener& l, bool tls) {
    if (l.enabled()) out.push_back({proto, cfg.hostname, l.listen.front().port, tls});
  };
  add("imap", cfg.imap.implicit_tls, true);
  add("imap", cfg.imap.plain, false);
  add("pop3", cfg.pop3.implicit_tls, true);
  add("pop3", cfg.pop3.plain, false);
  add("smtp", cfg.smtp.submissions, true);
  add("smtp", cfg.smtp.submission, false);
  return out;
}

std::string xml_escape(std::string_view s) { return escape(s); }  // same five entities

// The address a request asks about: ?emailaddress= (Thunderbird), else nothing.
std::string requested_address(const Ctx& c) {
  auto a = store::normalize_address(c.form.get("emailaddress"));
  return a ? *a : std::string();
}

std::string requested_domain(Impl& app, const Ctx& c) {
  std::string addr = requested_address(c);
  if (!addr.empty()) return domain_of(addr);
  std::string host(c.req.header("host"));
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
  if (host.starts_with("autoconfig.")) host = host.substr(11);
  if (auto d = store::normalize_domain(host); d && app.store.domain_exists(*d)) return *d;
  return {};
}

Response xml(std::string body, std::string type = "application/xml; charset=utf-8") {
  Response r;
  r.set("content-type", std::move(type));
  r.body = std::move(body);
  return r;
}

Response thunderbird(Impl& app, Ctx& c) {
  std::string domain = requested_domain(app, c);
  if (domain.empty() || !app.store.domain_exists(domain)) {
    Response r;
    r.status = 404;
    r.set("content-type", "text/plain");
    r.body = "unknown domain\n";
    return r;
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n";
  x += "  <emailProvider id=\"" + xml_escape(domain) + "\">\n";
  x += "    <domain>" + xml_escape(domain) + "</domain>\n";
  x += "    <displayName>" + xml_escape(domain) + " mail</displayName>\n";
  x += "    <displayShortName>" + xml_escape(domain) + "</displayShortName>\n";
  for (auto& s : client_settings(app.cfg)) {
    bool out = s.protocol == "smtp";
    x += out ? "    <outgoingServer type=\"smtp\">\n" : "    <incomingServer type=\"" + s.protocol + "\">\n";
    x += "      <hostname>" + xml_escape(s.host) + "</hostname>\n";
    x += "      <port>" + std::to_string(s.port) + "</port>\n";
    x += std::string("      <socketType>") + (s.implicit_tls ? "SSL" : "STARTTLS") + "</socketType>\n";
    x += "      <authentication>password-cleartext</authentication>\n";
    x += "      <username>%EMAILADDRESS%</username>\n";
    x += out ? "    </outgoingServer>\n" : "    </incomingServer>\n";
  }
  x += "  </emailProvider>\n</clientConfig>\n";
  return xml(std::move(x));
}

// The <EMailAddress> of a POX request (bounded search: the element holds an address).
std::string pox_address(std::string_view body) {
  auto open = body.find("<EMailAddress>");
  if (open == std::string_view::npos) return {};
  open += 14;
  auto close = body.find("</EMailAddress>", open);
  if (close == std::string_view::npos || close - open > 320) return {};
  auto a = store::normalize_address(body.substr(open, close - open));
  return a ? *a : std::string();
}

Response autodiscover(Impl& app, Ctx& c) {
  std::string addr = pox_address(c.req.body);
  const char* ns = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
  if (addr.empty() || !app.store.domain_exists(domain_of(addr))) {
    // The 2006 error response: Error with Time, Id, ErrorCode, Message, DebugData.
    std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" + std::string(ns) +
                    "\">\n  <Response>\n    <Error Time=\"" + format_time(app.now()).substr(11, 8) +
                    "\" Id=\"1\">\n      <ErrorCode>600</ErrorCode>\n      <Message>Invalid Request</Message>\n"
                    "      <DebugData />\n    </Error>\n  </Response>\n</Autodiscover>\n";
    return xml(std::move(x), "text/xml; charset=utf-8");
  }
  std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" + std::string(ns) + "\">\n";
  x += "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n";
  x += "    <User>\n      <DisplayName>" + xml_escape(addr) + "</DisplayName>\n    </User>\n";
  x += "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n";
  for (auto& s : client_settings(app.cfg)) {
    if (s.protocol == "pop3" && !s.implicit_tls) continue;
    std::string type = s.protocol == "imap" ? "IMAP" : s.protocol == "pop3" ? "POP3" : "SMTP";
    x += "      <Protocol>\n        <Type>" + type + "</Type>\n";
    x += "        <Server>" + xml_escape(s.host) + "</Server>\n";
    x += "        <Port>" + std::to_string(s.port) + "</Port>\n";
    x += "        <DomainRequired>off</DomainRequired>\n";
    x += "        <LoginName>" + xml_escape(addr) + "</LoginName>\n";
    x += "        <SPA>off</SPA>\n";
    if (s.implicit_tls)
      x += "        <SSL>on</SSL>\n";
    else
      x += "        <Encryption>TLS</Encryption>\n";
    x += "        <AuthRequired>on</AuthRequired>\n";
    if (type == "SMTP") x += "        <UsePOPAuth>off</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n";
    x += "      </Protocol>\n";
  }
  x += "    </Account>\n  </Response>\n</Autodiscover>\n";
  return xml(std::move(x), "text/xml; charset=utf-8");
}

// Autodiscover v2: the JSON redirect to the POX endpoint for protocol AutodiscoverV1.
Response autodiscover_json(Impl& app, Ctx& c) {
  std::string host(c.req.header("host"));
  if (host.empty()) host = app.cfg.hostname;
  std::string proto = c.form.get("Protocol");
  if (proto.empty()) proto = "AutodiscoverV1";
  if (proto != "AutodiscoverV1")
    return json_response(400, json::object{{"ErrorCode", "InvalidProtocol"},
                                           {"ErrorMessage", "The given protocol value is invalid. Supported: AutodiscoverV1"}});
  return json_response(200, json::object{{"Protocol", "AutodiscoverV1"},
                                         {"Url", "https://" + host + "/autodiscover/autodiscover.xml"}});
}

Response pacc(Impl& app, Ctx&) {
  json::object servers;
  for (auto& s : client_settings(app.cfg)) {
    if (!s.implicit_tls) continue;  // PACC mandates Direct TLS
    std::string scheme = s.protocol == "imap" ? "imaps" : s.protocol == "pop3" ? "pop3s" : "submissions";
    servers[s.protocol] = json::object{{"url", scheme + "://" + s.host + ":" + std::to_string(s.port)},
                                       {"authentication", json::array{"sasl-SCRAM-SHA-256", "sasl-PLAIN"}}};
  }
  Response r = json_response(200, json::object{{"servers", std::move(servers)},
                                               {"provider", json::object{{"name", app.cfg.hostname}, {"shortName", "tern"}}},
                                               {"version", "1.0"}});
  return r;
}

std::string uuid_from(std::string_view seed) {
  // A stable UUID (v5-like layout) for the profile, from a hash of the address.
  static const char* hex = "0123456789ABCDEF";
  std::string h = util::sha256(seed);
  std::string out;
  for (int i = 0; i < 16; ++i) {
    auto b = static_cast<unsigned char>(h[static_cast<std::size_t>(i)]);
    if (i == 6) b = static_cast<unsigned char>((b & 0x0f) | 0x50);
    if (i == 8) b = static_cast<unsigned char>((b & 0x3f) | 0x80);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
    if (i == 3 || i == 5 || i == 7 || i == 9) out.push_back('-');
  }
  return out;
}

Response mobileconfig(Impl& app, Ctx& c, const std::string& address) {
  if (!c.who->can_address(address)) return forbidden(app, c);
  if (!app.store.get_account(address)) return error_page(app, c, 404, "There is no such mailbox.");
  const Server* in = nullptr;
  const Server* out = nullptr;
  auto servers = client_settings(app.cfg);
  for (auto& s : servers) {
    if (s.protocol == "imap" && (!in || (s.implicit_tls && !in->implicit_tls))) in = &s;
    if (s.protocol == "smtp" && (!out || (s.implicit_tls && !out->implicit_tls))) out = &s;
  }
  if (!in) {
    for (auto& s : servers)
      if (s.protocol == "pop3" && (!in || s.implicit_tls)) in = &s;
  }
  if (!in || !out) return error_page(app, c, 409, "This server has no IMAP/POP3 or submission listener configured.");
  std::string a = xml_escape(address), rev = "test.tern";
  {
    // reverse-DNS identifier from the hostname
    std::string h = app.cfg.hostname;
    std::vector<std::string> parts;
    std::size_t p = 0;
    while (true) {
      auto dot = h.find('.', p);
      parts.push_back(h.substr(p, dot == std::string::npos ? std::string::npos : dot - p));
      if (dot == std::string::npos) break;
      p = dot + 1;
    }
    rev.clear();
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) rev += (rev.empty() ? "" : ".") + *it;
  }
  auto kv = [](const char* k, const std::string& v) { return "    <key>" + std::string(k) + "</key><string>" + v + "</string>\n"; };
  auto ki = [](const char* k, unsigned v) { return "    <key>" + std::string(k) + "</key><integer>" + std::to_string(v) + "</integer>\n"; };
  auto kb = [](const char* k, bool v) { return "    <key>" + std::string(k) + "</key>" + (v ? "<true/>" : "<false/>") + "\n"; };
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n"
      "  <key>PayloadContent</key>\n  <array>\n  <dict>\n";
  x += kv("EmailAccountDescription", a);
  x += kv("EmailAccountName", a);
  x += kv("EmailAccountType", in->protocol == "imap" ? "EmailTypeIMAP" : "EmailTypePOP");
  x += kv("EmailAddress", a);
  x += kv("IncomingMailServerAuthentication", "EmailAuthPassword");
  x += kv("IncomingMailServerHostName", xml_escape(in->host));
  x += ki("IncomingMailServerPortNumber", in->port);
  x += kb("IncomingMailServerUseSSL", true);  // STARTTLS or TLS: Apple's flag means "use TLS"
  x += kv("IncomingMailServerUsername", a);
  x += kv("OutgoingMailServerAuthentication", "EmailAuthPassword");
  x += kv("OutgoingMailServerHostName", xml_escape(out->host));
  x += ki("OutgoingMailServerPortNumber", out->port);
  x += kb("OutgoingMailServerUseSSL", true);
  x += kv("OutgoingMailServerUsername", a);
  x += kb("OutgoingPasswordSameAsIncomingPassword", true);
  x += kv("PayloadDescription", "Mail account " + a);
  x += kv("PayloadDisplayName", a);
  x += kv("PayloadIdentifier", rev + ".mail." + uuid_from("mail:" + address));
  x += kv("PayloadType", "com.apple.mail.managed");
  x += kv("PayloadUUID", uuid_from("mail:" + address));
  x += ki("PayloadVersion", 1);
  x += "  </dict>\n  </array>\n";
  x += kv("PayloadDescription", "Mail settings for " + a);
  x += kv("PayloadDisplayName", "Mail: " + a);
  x += kv("PayloadIdentifier", rev + ".profile." + uuid_from("profile:" + address));
  x += kb("PayloadRemovalDisallowed", false);
  x += kv("PayloadType", "Configuration");
  x += kv("PayloadUUID", uuid_from("profile:" + address));
  x += ki("PayloadVersion", 1);
  x += "</dict>\n</plist>\n";
  Response r = xml(std::move(x), "application/x-apple-aspen-config");
  r.set("content-disposition", "attachment; filename=\"" + percent_encode(address) + ".mobileconfig\"");
  return r;
}

Response mobileconfig_admin(Impl& app, Ctx& c) { return mobileconfig(app, c, c.p("address")); }
Response mobileconfig_me(Impl& app, Ctx& c) {
  if (c.who->is_admin()) return redirect("/");
  return mobileconfig(app, c, c.who->name);
}

Response api_client_settings(Impl& app, Ctx& c) {
  std::string addr = c.p("address");
  if (!c.who->can_address(addr)) return api_error(403, "you may not see or change this");
  if (!app.store.get_account(addr)) return api_error(404, "no such mailbox");
  json::array servers;
  for (auto& s : client_settings(app.cfg))
    servers.push_back(json::object{{"protocol", s.protocol}, {"host", s.host}, {"port", s.port},
                                   {"security", s.implicit_tls ? "tls" : "starttls"}, {"username", addr}});
  return json_response(200, json::object{{"address", addr}, {"servers", std::move(servers)}});
}

}  // namespace

Html client_settings_html(Impl& app, const std::string& address) {
  std::vector<Html> rows;
  for (auto& s : client_settings(app.cfg)) {
    std::string proto = s.protocol == "imap" ? "IMAP (incoming)" : s.protocol == "pop3" ? "POP3 (incoming)" : "SMTP (outgoing)";
    rows.push_back(render(R"(<tr><td data-label="Protocol">{{p}}</td><td data-label="Server"><code>{{h}}</code></td><td data-label="Port" class="num">{{port}}</td><td data-label="Security">{{sec}}</td></tr>)",
                          {{"p", proto}, {"h", s.host}, {"port", static_cast<unsigned>(s.port)},
                           {"sec", s.implicit_tls ? "SSL/TLS" : "STARTTLS"}}));
  }
  return render(R"(<section class="card"><h2>Client settings</h2>
<p>User name: <code>{{a}}</code> · Password: the mailbox password · Authentication: normal password</p>
<div class="table-wrap"><table class="responsive"><thead><tr><th>Protocol</th><th>Server</th><th class="num">Port</th><th>Security</th></tr></thead><tbody>{{rows}}</tbody></table></div>
<p class="actions"><a href="{{mc}}">Apple profile (.mobileconfig) for iPhone, iPad and Mac</a> · <a href="/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress={{ae}}">Thunderbird autoconfig</a></p>
<p class="muted">Thunderbird and Outlook find these settings by themselves from the address: see the DNS page for the records they use.</p></section>)",
                {{"a", address}, {"rows", join(rows)}, {"ae", percent_encode(address)},
                 {"mc", "/mailboxes/" + percent_encode(address) + "/apple.mobileconfig"}});
}

void add_autoconfig_routes(Router<Handler>& r) {
  r.add("GET", "/.well-known/autoconfig/mail/config-v1.1.xml", open_route(thunderbird));
  r.add("GET", "/mail/config-v1.1.xml", open_route(thunderbird));
  r.add("POST", "/autodiscover/autodiscover.xml", open_route(autodiscover));
  r.add("POST", "/Autodiscover/Autodiscover.xml", open_route(autodiscover));
  r.add("GET", "/autodiscover/autodiscover.json/v1.0/{address}", open_route(autodiscover_json));
  r.add("GET", "/.well-known/user-agent-configuration.json", open_route(pacc));
  r.add("GET", "/mailboxes/{address}/apple.mobileconfig", authed(mobileconfig_admin));
  r.add("GET", "/me/apple.mobileconfig", authed(mobileconfig_me));
  r.add("GET", "/api/mailboxes/{address}/client-settings", authed(api_client_settings));
}

}  // namespace tern::web::detail
