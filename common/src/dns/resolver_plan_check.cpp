// tern::dns::check_plan (plan_check.hpp). The file name starts with "resolver" so
// common/CMakeLists.txt keeps it out of the Asio-free tern_common; it is in tern_dns.
#include "tern/dns/plan_check.hpp"

#include <memory>

namespace tern::dns {
namespace {

using checks::PlannedRecord;
using checks::RecordCheck;
using checks::RecordStatus;

std::string squash(std::string_view s) {  // compare TXT values modulo spacing
  std::string o;
  bool sp = false;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      sp = true;
      continue;
    }
    if (sp && !o.empty() && o.back() != ';' && c != ';') o += ' ';
    sp = false;
    o += c;
  }
  return o;
}

std::string txt_tag(std::string_view v) { return std::string(v.substr(0, v.find_first_of("; "))); }

RecordCheck failed(const AnswerMeta& a) {
  RecordCheck c;
  c.status = RecordStatus::unknown;
  c.error = a.error.empty() ? std::string("lookup failed") : a.error;
  return c;
}

void settle(RecordCheck& c) {
  if (c.status == RecordStatus::unchecked)
    c.status = c.published.empty() ? RecordStatus::missing : RecordStatus::different;
}

asio::awaitable<RecordCheck> check_one(Resolver& res, PlannedRecord r, std::string host) {
  RecordCheck c;
  if (r.type == "TXT") {
    auto a = co_await res.txt(r.name);
    if (a.status == Status::temp_fail) co_return failed(a);
    bool same_tag = false;
    for (const auto& t : a.records) {
      if (txt_tag(t) != txt_tag(r.value)) continue;
      same_tag = true;
      c.published.push_back(t);
      if (squash(t) == squash(r.value)) c.status = RecordStatus::present;
    }
    if (c.status == RecordStatus::unchecked) c.status = same_tag ? RecordStatus::different : RecordStatus::missing;
    co_return c;
  }
  if (r.type == "MX") {
    auto a = co_await res.mx(r.name);
    if (a.status == Status::temp_fail) co_return failed(a);
    for (const auto& h : a.records) {
      c.published.push_back(std::to_string(h.preference) + " " + h.host + ".");
      if (h.host == host) c.status = RecordStatus::present;
    }
    settle(c);
    co_return c;
  }
  if (r.type == "PTR") {
    std::string ip;  // the note names the address: "set by whoever owns <ip> ..."
    auto p = r.note.find("owns ");
    if (p != std::string::npos) ip = r.note.substr(p + 5, r.note.find(' ', p + 5) - p - 5);
    auto a = co_await res.ptr(ip);
    if (a.status == Status::temp_fail) co_return failed(a);
    for (const auto& n : a.records) {
      c.published.push_back(n + ".");
      if (n == host) c.status = RecordStatus::present;
    }
    settle(c);
    co_return c;
  }
  if (r.type != "SRV" && r.type != "CNAME") co_return c;  // unchecked
  // CNAME (5) and SRV (33): raw rdata.
  const bool srv = r.type == "SRV";
  const RrType type = srv ? static_cast<RrType>(33) : RrType::cname;
  auto a = co_await res.query(r.name, type);
  if (a.status == Status::temp_fail) co_return failed(a);
  for (const auto& rd : a.rdata) {
    std::size_t pos = srv ? 6 : 0;
    if (rd.size() < pos) continue;
    auto n = decode_name(rd, pos);
    if (!n) continue;
    std::string v;
    if (srv) {
      auto u16 = [&](int i) {
        return (static_cast<unsigned char>(rd[i]) << 8) | static_cast<unsigned char>(rd[i + 1]);
      };
      v = std::to_string(u16(0)) + " " + std::to_string(u16(2)) + " " + std::to_string(u16(4)) + " " +
          (n->empty() ? "." : *n + ".");
      // Same port and target counts as present.
      std::string want_tail = r.value.substr(r.value.find(' ', r.value.find(' ') + 1) + 1);
      if (v.substr(v.find(' ', v.find(' ') + 1) + 1) == want_tail) c.status = RecordStatus::present;
    } else {
      v = *n + ".";
      if (*n == host) c.status = RecordStatus::present;
    }
    c.published.push_back(v);
  }
  settle(c);
  co_return c;
}

asio::awaitable<void> lookup_ns(Resolver& res, std::string domain, PlanCheck* out) {
  auto a = co_await res.query(domain, RrType::ns);
  if (a.status == Status::temp_fail) co_return;
  out->nameservers_known = true;
  for (const auto& rd : a.rdata) {
    std::size_t pos = 0;
    if (auto n = decode_name(rd, pos)) out->nameservers.push_back(*n);
  }
}

// Everything the parallel lookups share. Completions run on the executor check_plan
// awaits from (one thread), so the counter needs no lock; the state outlives
// check_plan if it returns first (a guard timeout).
struct Pending {
  explicit Pending(const asio::any_io_executor& ex) : done(ex) {}
  PlanCheck result;
  std::size_t left = 0;
  asio::steady_timer done;
  void finish_one() {
    if (--left == 0) done.cancel();
  }
};

}  // namespace

asio::awaitable<PlanCheck> check_plan(Resolver& res, std::vector<PlannedRecord> records, std::string domain,
                                      std::string host) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<Pending>(ex);
  st->result.records.resize(records.size());
  st->left = records.size() + 1;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto on_done = [st, i](std::exception_ptr e, RecordCheck c) {
      if (e) {
        c = RecordCheck{};
        c.status = RecordStatus::unknown;
        c.error = "internal error";
      }
      st->result.records[i] = std::move(c);
      st->finish_one();
    };
    asio::co_spawn(ex, check_one(res, records[i], host), std::move(on_done));
  }
  auto ns_done = [st](std::exception_ptr) { st->finish_one(); };
  asio::co_spawn(ex, lookup_ns(res, domain, &st->result), std::move(ns_done));
  // Each query ends by itself (answer, or the resolver's timeout / shutdown); the timer
  // only wakes this coroutine when the last one is in. The spawned lookups start only
  // after this coroutine suspends, so the cancel cannot come before the wait.
  st->done.expires_after(std::chrono::hours(1));
  while (st->left > 0) {
    auto [ec] = co_await st->done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) break;  // an hour: something is badly wrong; answer with what is in
  }
  for (auto& c : st->result.records)
    if (c.status == RecordStatus::unchecked && st->left > 0) {
      c.status = RecordStatus::unknown;
      c.error = "timeout";
    }
  co_return st->result;
}

}  // namespace tern::dns
