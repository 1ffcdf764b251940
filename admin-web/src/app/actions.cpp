// The changes the panel can make. Each action checks the principal's rights and the
// input, then makes ONE store call (one transaction): nothing is half-created.
// Pages and the JSON API call the same functions, so they cannot disagree.
#include <algorithm>

#include "app_impl.hpp"
#include "tern/auth/password.hpp"
#include "tern/log/log.hpp"

namespace tern::web::detail {

namespace {

Outcome denied() { return Outcome::error(403, "", "you may not see or change this"); }

Outcome done(int status = 200, json::value data = nullptr) {
  Outcome o;
  o.status = status;
  o.data = std::move(data);
  return o;
}

std::optional<std::string> check_password(const std::string& pw, std::string& why) {
  if (pw.size() < 10) {
    why = "use at least 10 characters";
    return std::nullopt;
  }
  if (pw.size() > 1024) {
    why = "at most 1024 characters";
    return std::nullopt;
  }
  if (!is_clean_text(pw, true)) {
    why = "control characters are not allowed";
    return std::nullopt;
  }
  return pw;
}

struct Hashed {
  std::string hash;
  std::optional<store::ScramCredential> scram;
};

Hashed hash(const std::string& pw) {
  Hashed h;
  h.hash = auth::hash_password(pw);
  if (auth::scram_password_acceptable(pw)) {
    auto c = auth::make_scram_credential(pw);
    h.scram = store::ScramCredential{c.salt, c.iterations, c.stored_key, c.server_key};
  }
  return h;
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

json::object account_json(const store::Account& a) {
  return json::object{{"address", a.address},
                      {"enabled", a.enabled},
                      {"quota_bytes", a.quota.bytes},
                      {"quota_messages", a.quota.messages},
                      {"used_bytes", a.usage.bytes},
                      {"messages", a.usage.messages},
                      {"created", a.created}};
}

json::object alias_json(const store::Alias& a) {
  json::array t;
  for (auto& x : a.targets) t.push_back(json::value(x));
  return json::object{{"source", a.source}, {"targets", std::move(t)}, {"catch_all", a.source.starts_with("@")}};
}

std::optional<std::vector<std::string>> parse_targets(const std::string& raw, std::size_t max, std::string& why) {
  std::vector<std::string> targets;
  std::string cur;
  bool bad = false;
  auto flush = [&] {
    std::string t = trim(cur);
    cur.clear();
    if (t.empty()) return;
    auto n = store::normalize_address(t);
    if (!n) bad = true;
    else if (std::find(targets.begin(), targets.end(), *n) == targets.end()) targets.push_back(*n);
  };
  for (char ch : raw) {
    if (ch == ',' || ch == '\n' || ch == ' ' || ch == ';') flush();
    else cur.push_back(ch);
    if (bad) break;
  }
  if (!bad) flush();
  if (bad) why = "each target must be an address like name@example.com";
  else if (targets.empty()) why = "enter at least one target address";
  else if (targets.size() > max) why = "at most " + std::to_string(max) + " targets";
  else return targets;
  return std::nullopt;
}

Outcome act_add_domain(Impl& app, Ctx& c, const std::string& raw) {
  if (!c.who->is_global()) return denied();
  std::string d = trim(raw);
  auto n = store::normalize_domain(d);
  if (!n) return Outcome::error(422, "domain", "not a valid domain name (like example.com)");
  auto r = app.store.add_domain(*n);
  if (!r) {
    if (r.error() == store::Errc::exists) return Outcome::error(409, "domain", "this domain is already set up");
    return store_error(r.error(), "domain");
  }
  spdlog::info("web: {} added domain {}", c.who->id(), *n);
  return done(201, json::object{{"domain", *n}});
}

Outcome act_del_domain(Impl& app, Ctx& c, const std::string& d) {
  if (!c.who->is_global()) return denied();
  auto r = app.store.del_domain(d);
  if (!r) {
    if (r.error() == store::Errc::not_permitted)
      return Outcome::error(409, "domain", "delete its mailboxes and forwarders first");
    return store_error(r.error(), "domain");
  }
  spdlog::info("web: {} deleted domain {}", c.who->id(), d);
  return done(204);
}

Outcome act_set_archive(Impl& app, Ctx& c, const std::string& d, const std::string& raw) {
  if (!c.who->can_domain(d)) return denied();
  std::string addr = trim(raw);
  if (!addr.empty() && addr != "off") {
    auto n = store::normalize_address(addr);
    if (!n) return Outcome::error(422, "archive", "not a valid address");
    addr = *n;
  } else {
    addr.clear();
  }
  auto r = app.store.set_domain_archive(d, addr);
  if (!r) {
    if (r.error() == store::Errc::not_found || r.error() == store::Errc::invalid_argument)
      return Outcome::error(422, "archive", "must be a mailbox of this server");
    return store_error(r.error(), "archive");
  }
  return done(200, json::object{{"domain", d}, {"archive", addr}});
}

Outcome act_add_mailbox(Impl& app, Ctx& c, const std::string& d, const std::string& local_raw,
                        const std::string& password, const std::string& quota) {
  if (!c.who->can_domain(d)) return denied();
  std::string local = trim(local_raw);
  if (local.empty()) return Outcome::error(422, "local", "enter the part before the @");
  if (local.find('@') != std::string::npos) return Outcome::error(422, "local", "enter only the part before the @");
  auto addr = store::normalize_address(local + "@" + d);
  if (!addr) return Outcome::error(422, "local", "not a valid address");
  std::string why;
  if (!check_password(password, why)) return Outcome::error(422, "password", why);
  store::NewAccount na;
  na.address = *addr;
  if (!trim(quota).empty()) {
    auto q = parse_size_text(quota);
    if (!q) return Outcome::error(422, "quota", "a size like 500M or 2G (0 = unlimited)");
    na.quota.bytes = *q;
  }
  Hashed h = hash(password);
  na.password_hash = h.hash;
  na.scram = h.scram;
  auto r = app.store.add_account(na);
  if (!r) {
    if (r.error() == store::Errc::exists)
      return Outcome::error(409, "local", "a mailbox or forwarder with this address exists");
    return store_error(r.error(), "local");
  }
  spdlog::info("web: {} created mailbox {}", c.who->id(), *addr);
  auto a = app.store.get_account(*addr);
  return done(201, a ? json::value(account_json(*a)) : json::value(json::object{{"address", *addr}}));
}

Outcome act_set_password(Impl& app, Ctx& c, const std::string& address, const std::string& password,
                         const std::string& confirm) {
  if (!c.who->can_address(address)) return denied();
  std::string why;
  if (!check_password(password, why)) return Outcome::error(422, "password", why);
  if (password != confirm) return Outcome::error(422, "confirm", "the two passwords differ");
  Hashed h = hash(password);
  auto r = app.store.set_password(address, h.hash, h.scram);
  if (!r) return store_error(r.error(), "password");
  // Every session and token of this mailbox user now fails the credential check.
  spdlog::info("web: {} changed the password of {}", c.who->id(), address);
  return done(200, json::object{{"address", address}, {"password_changed", true}});
}

Outcome act_set_quota(Impl& app, Ctx& c, const std::string& address, const std::string& quota) {
  if (!c.who->is_admin() || !c.who->can_address(address)) return denied();
  auto q = parse_size_text(quota);
  if (!q) return Outcome::error(422, "quota", "a size like 500M or 2G (0 = unlimited)");
  auto a = app.store.get_account(address);
  if (!a) return store_error(a.error(), "quota");
  store::Quota nq = a->quota;
  nq.bytes = *q;
  auto r = app.store.set_quota(address, nq);
  if (!r) return store_error(r.error(), "quota");
  return done(200, json::object{{"address", address}, {"quota_bytes", *q}});
}

Outcome act_set_enabled(Impl& app, Ctx& c, const std::string& address, bool enabled) {
  if (!c.who->is_admin() || !c.who->can_address(address)) return denied();
  auto r = app.store.set_enabled(address, enabled);
  if (!r) return store_error(r.error());
  spdlog::info("web: {} {} mailbox {}", c.who->id(), enabled ? "enabled" : "disabled", address);
  return done(200, json::object{{"address", address}, {"enabled", enabled}});
}

Outcome act_del_mailbox(Impl& app, Ctx& c, const std::string& address, const std::string& confirm) {
  if (!c.who->is_admin() || !c.who->can_address(address)) return denied();
  if (trim(confirm) != address)
    return Outcome::error(422, "confirm", "type the mailbox address to confirm");
  auto r = app.store.del_account(address);
  if (!r) return store_error(r.error(), "confirm");
  spdlog::info("web: {} deleted mailbox {}", c.who->id(), address);
  return done(204);
}

Outcome act_add_forwarder(Impl& app, Ctx& c, const std::string& d, const std::string& local_raw,
                          const std::string& targets_raw) {
  if (!c.who->can_domain(d)) return denied();
  std::string local = trim(local_raw);
  std::string source;
  if (local.empty() || local == "*") {
    source = "@" + d;  // catch-all
  } else {
    if (local.find('@') != std::string::npos) return Outcome::error(422, "local", "enter only the part before the @");
    auto a = store::normalize_address(local + "@" + d);
    if (!a) return Outcome::error(422, "local", "not a valid address");
    source = *a;
  }
  std::string why;
  auto parsed = parse_targets(targets_raw, 50, why);
  if (!parsed) return Outcome::error(422, "targets", why);
  const std::vector<std::string>& targets = *parsed;
  auto r = app.store.add_alias(source, targets);
  if (!r) {
    if (r.error() == store::Errc::exists)
      return Outcome::error(409, "local", "a mailbox or forwarder with this address exists");
    if (r.error() == store::Errc::alias_loop)
      return Outcome::error(422, "targets", "these targets lead back to this address (a loop)");
    return store_error(r.error(), "local");
  }
  spdlog::info("web: {} added forwarder {}", c.who->id(), source);
  return done(201, alias_json(store::Alias{source, targets}));
}

Outcome act_del_forwarder(Impl& app, Ctx& c, const std::string& source) {
  std::string d = source.starts_with("@") ? source.substr(1) : domain_of(source);
  if (!c.who->can_domain(d)) return denied();
  auto r = app.store.del_alias(source);
  if (!r) return store_error(r.error());
  spdlog::info("web: {} deleted forwarder {}", c.who->id(), source);
  return done(204);
}

Outcome act_set_autoreply(Impl& app, Ctx& c, const std::string& address, const Ctx& in) {
  if (!c.who->can_address(address)) return denied();
  store::AutoReply ar;
  ar.subject = trim(in.in("subject"));
  ar.body = in.in("body");
  if (ar.subject.empty()) return Outcome::error(422, "subject", "enter a subject");
  if (ar.subject.size() > 200 || !is_clean_text(ar.subject, true))
    return Outcome::error(422, "subject", "one line of at most 200 characters");
  if (trim(ar.body).empty()) return Outcome::error(422, "body", "enter the reply text");
  if (ar.body.size() > 64 * 1024 || !is_clean_text(ar.body, false))
    return Outcome::error(422, "body", "at most 64 KiB of text");
  std::string days = trim(in.in("days"));
  if (days.empty()) days = "7";
  if (days.size() > 3 || days.find_first_not_of("0123456789") != std::string::npos || std::stoi(days) < 1 ||
      std::stoi(days) > 365)
    return Outcome::error(422, "days", "a number of days from 1 to 365");
  ar.days = static_cast<std::uint32_t>(std::stoi(days));
  std::string start = trim(in.in("start")), end = trim(in.in("end"));
  if (!start.empty()) {
    auto t = parse_date(start);
    if (!t) return Outcome::error(422, "start", "a date like 2026-12-24");
    ar.start = *t;
  }
  if (!end.empty()) {
    auto t = parse_date(end);
    if (!t) return Outcome::error(422, "end", "a date like 2027-01-02");
    ar.end = *t + 86400;  // the end date is the last day with replies
    if (ar.end <= ar.start) return Outcome::error(422, "end", "must not be before the start date");
  }
  auto r = app.store.set_autoreply(address, ar);
  if (!r) return store_error(r.error(), "subject");
  return done(200, json::object{{"address", address}, {"subject", ar.subject}, {"days", ar.days},
                                {"start", ar.start}, {"end", ar.end}});
}

Outcome act_clear_autoreply(Impl& app, Ctx& c, const std::string& address) {
  if (!c.who->can_address(address)) return denied();
  auto r = app.store.clear_autoreply(address);
  if (!r) return store_error(r.error());
  return done(204);
}

Outcome act_set_forwarding(Impl& app, Ctx& c, const std::string& address, const std::string& targets_raw,
                           bool keep_copy) {
  // The mailbox user for their own address, or an admin of its domain.
  if (!c.who->can_address(address)) return denied();
  std::string why;
  auto targets = parse_targets(targets_raw, store::kMaxForwardTargets, why);
  if (!targets) return Outcome::error(422, "fwd_targets", why);
  auto self = store::normalize_address(address);
  if (self && std::find(targets->begin(), targets->end(), *self) != targets->end())
    return Outcome::error(422, "fwd_targets", "not this mailbox itself (use “keep a copy” for that)");
  auto r = app.store.set_forwarding(address, store::Forwarding{*targets, keep_copy});
  if (!r) {
    if (r.error() == store::Errc::no_such_user)
      return Outcome::error(422, "fwd_targets", "a local target is neither a mailbox nor a forwarder here");
    if (r.error() == store::Errc::alias_loop)
      return Outcome::error(422, "fwd_targets", "these targets lead back to this address (a loop)");
    if (r.error() == store::Errc::invalid_address)
      return Outcome::error(422, "fwd_targets", "each target must be an address like name@example.com");
    return store_error(r.error(), "fwd_targets");
  }
  spdlog::info("web: {} set forwarding of {} ({} targets, keep_copy={})", c.who->id(), address, targets->size(),
               keep_copy);
  json::array t;
  for (auto& x : *targets) t.push_back(json::value(x));
  return done(200, json::object{{"address", address}, {"targets", std::move(t)}, {"keep_copy", keep_copy}});
}

Outcome act_clear_forwarding(Impl& app, Ctx& c, const std::string& address) {
  if (!c.who->can_address(address)) return denied();
  auto r = app.store.clear_forwarding(address);
  if (!r) return store_error(r.error());
  return done(204);
}

Outcome act_queue_retry(Impl& app, Ctx& c, std::uint64_t id) {
  if (!c.who->is_global()) return denied();
  auto q = app.store.get_queue(id);
  if (!q) return store_error(q.error());
  // Due now, and nothing else: the outbound worker picks due entries in next_attempt
  // order. flush_queue() (ternctl queue flush) moves only next_attempt; the attempt
  // count and last error stay what the worker recorded (reschedule() would count an
  // attempt that never happened).
  auto r = app.store.flush_queue(id);
  if (!r) return store_error(r.error());
  return done(200, json::object{{"id", id}, {"next_attempt", app.now()}, {"attempts", q->attempts}});
}

Outcome act_queue_delete(Impl& app, Ctx& c, std::uint64_t id) {
  if (!c.who->is_global()) return denied();
  auto r = app.store.remove_queue(id);
  if (!r) return store_error(r.error());
  spdlog::info("web: {} deleted queue entry {}", c.who->id(), id);
  return done(204);
}

}  // namespace tern::web::detail
