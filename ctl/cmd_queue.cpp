// `ternctl queue list [--json] | show ID | flush [ID] | delete ID` (design §4): the
// outbound queue as the store holds it; an idle tern-mta worker picks up flushed entries
// at once (it watches the store's commits).
#include <cstdio>
#include <ctime>
#include <string>

#include "commands.hpp"

namespace tern::ctl {
namespace {

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += static_cast<char>(c);
    else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += static_cast<char>(c);
  }
  return o + "\"";
}

std::string age(store::UnixTime created, std::time_t now) {
  long s = static_cast<long>(now - created);
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string when(store::UnixTime t, std::time_t now) {
  if (t <= now) return "now";
  return "in " + age(now, static_cast<std::time_t>(t));
}

bool parse_id(const std::string& s, store::QueueId& id) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  id = std::stoull(s);
  return id > 0;
}

void print_json(const store::QueueEntry& q) {
  std::printf("{\"id\":%llu,\"message_id\":%s,\"sender\":%s,\"recipient\":%s,\"size\":%llu,"
              "\"created\":%lld,\"next_attempt\":%lld,\"attempts\":%u,\"last_error\":%s}",
              static_cast<unsigned long long>(q.id), json_str(q.message_id).c_str(),
              json_str(q.sender).c_str(), json_str(q.recipient).c_str(),
              static_cast<unsigned long long>(q.size), static_cast<long long>(q.created),
              static_cast<long long>(q.next_attempt), q.attempts, json_str(q.last_error).c_str());
}

}  // namespace

int queue_cmd(const std::string& verb, const Args& a, store::Store& s) {
  std::time_t now = std::time(nullptr);
  if (verb == "list") {
    if (!a.pos.empty()) return fail("usage: ternctl queue list [--json]", kUsage);
    auto l = s.list_queue();
    if (!l) return fail_store(l.error(), "queue");
    if (a.has("--json")) {
      std::printf("[");
      for (std::size_t i = 0; i < l->size(); ++i) {
        if (i) std::printf(",");
        print_json((*l)[i]);
      }
      std::printf("]\n");
      return kOk;
    }
    for (const auto& q : *l)
      std::printf("%llu  age=%s  from=<%s>  to=<%s>  attempts=%u  next=%s  error=%s\n",
                  static_cast<unsigned long long>(q.id), age(q.created, now).c_str(), q.sender.c_str(),
                  q.recipient.c_str(), q.attempts, when(q.next_attempt, now).c_str(),
                  q.last_error.empty() ? "-" : q.last_error.c_str());
    return kOk;
  }
  store::QueueId id = 0;
  if (verb == "show") {
    if (a.pos.size() != 1 || !parse_id(a.pos[0], id)) return fail("usage: ternctl queue show ID", kUsage);
    auto q = s.get_queue(id);
    if (!q) return fail_store(q.error(), "queue entry " + a.pos[0]);
    if (a.has("--json")) {
      print_json(*q);
      std::printf("\n");
      return kOk;
    }
    std::printf("id: %llu\nmessage-id: %s\nsender: <%s>\nrecipient: <%s>\nsize: %llu\nage: %s\n"
                "attempts: %u\nnext attempt: %s\nlast error: %s\n",
                static_cast<unsigned long long>(q->id), q->message_id.c_str(), q->sender.c_str(),
                q->recipient.c_str(), static_cast<unsigned long long>(q->size), age(q->created, now).c_str(),
                q->attempts, when(q->next_attempt, now).c_str(), q->last_error.empty() ? "-" : q->last_error.c_str());
    if (!q->dsn.notify.empty()) std::printf("notify: %s\n", q->dsn.notify.c_str());
    return kOk;
  }
  if (verb == "flush") {
    if (a.pos.size() > 1 || (a.pos.size() == 1 && !parse_id(a.pos[0], id)))
      return fail("usage: ternctl queue flush [ID]", kUsage);
    auto n = s.flush_queue(id);
    if (!n) return fail_store(n.error(), id ? "queue entry " + a.pos[0] : "queue");
    std::printf("%zu entr%s due now\n", *n, *n == 1 ? "y" : "ies");
    return kOk;
  }
  if (verb == "delete") {
    if (a.pos.size() != 1 || !parse_id(a.pos[0], id)) return fail("usage: ternctl queue delete ID", kUsage);
    auto r = s.remove_queue(id);
    if (!r) return fail_store(r.error(), "queue entry " + a.pos[0]);
    std::printf("deleted queue entry %llu (no bounce is sent)\n", static_cast<unsigned long long>(id));
    return kOk;
  }
  return fail("unknown verb: queue " + verb + " (list, show, flush, delete)", kUsage);
}

}  // namespace tern::ctl
