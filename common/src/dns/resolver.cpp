// Resolver: libunbound (threaded async mode) driven from the Asio loop.
//
// How it fits together (library-notes §1):
//   - ub_ctx_async(ctx, 1): unbound resolves on its own thread and writes finished
//     answers to a pipe; ub_fd() is its read end. We wait for it to be readable
//     with a posix::stream_descriptor on a dup() of the fd (ub_ctx_delete closes
//     the original), then ub_process() runs our callbacks.
//   - One mutex guards the ub_ctx, the pending table, the timers and the
//     descriptor: lookups start from any thread, the fd and the timers complete on
//     the resolver's strand. Completion is always posted to the awaiting
//     coroutine's own executor, never run inline under the mutex.
//   - Every query has a timer: on expiry we ub_cancel() it (unbound then never
//     calls back for it) and answer temp_fail "timeout".
//   - The RFC 6761 zone "test." is a built-in local zone in unbound that answers
//     NXDOMAIN without asking; `local-zone: "test." nodefault` only takes effect
//     through a config file (ub_ctx_set_option has no effect), so we write one
//     (also for the TEST-NET reverse zones).
#include "tern/dns/resolver.hpp"

#include <unbound.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>

namespace tern::dns {
namespace {

using namespace asio::experimental::awaitable_operators;

// The interface an in-flight query completes through (type-erases the handler).
struct OpBase {
  virtual ~OpBase() = default;
  virtual void complete(RawAnswer a) = 0;  // posts; never runs the handler inline
};

template <class Handler>
struct Op final : OpBase {
  Handler handler;
  asio::any_io_executor work;  // keeps the awaiting io_context from running dry
  Op(Handler h, asio::any_io_executor fallback)
      : handler(std::move(h)),
        work(asio::prefer(asio::get_associated_executor(handler, fallback),
                          asio::execution::outstanding_work.tracked)) {}
  void complete(RawAnswer a) override {
    auto ex = work;
    asio::post(ex, [h = std::move(handler), a = std::move(a), w = std::move(work)]() mutable {
      std::move(h)(std::move(a));
    });
  }
};

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return "RCODE " + std::to_string(rcode);
  }
}

bool valid_query_name(const std::string& n) {
  if (n.empty() || n.size() > 254) return false;
  std::size_t start = 0;
  std::string_view s(n);
  if (s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) return false;
  while (start <= s.size()) {
    auto dot = s.find('.', start);
    auto end = dot == std::string_view::npos ? s.size() : dot;
    if (end == start || end - start > 63) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

RawAnswer from_ub(int err, ub_result* r) {
  RawAnswer a;
  if (err != 0 || !r) {
    a.status = Status::temp_fail;
    a.error = err ? ub_strerror(err) : "no result";
    if (r) ub_resolve_free(r);
    return a;
  }
  a.secure = r->secure != 0;
  if (!r->bogus && (r->rcode == 0 || r->rcode == 3)) a.ttl = static_cast<std::uint32_t>(r->ttl);
  if (r->bogus) {
    a.status = Status::temp_fail;
    a.error = std::string("bogus: ") + (r->why_bogus ? r->why_bogus : "DNSSEC failure");
  } else if (r->rcode == 3 || r->nxdomain) {
    a.status = Status::nxdomain;
  } else if (r->rcode != 0) {
    a.status = Status::temp_fail;
    a.error = rcode_name(r->rcode);
  } else if (!r->havedata) {
    a.status = Status::no_data;
  } else {
    a.status = Status::ok;
    for (int i = 0; r->data[i]; ++i) a.rdata.emplace_back(r->data[i], r->len[i]);
  }
  if (r->answer_packet && r->answer_len > 0)
    a.packet.assign(static_cast<const char*>(r->answer_packet), r->answer_len);
  ub_resolve_free(r);
  return a;
}

std::string unbound_fwd(const config::Endpoint& e) {
  return e.host + "@" + std::to_string(e.port ? e.port : 53);
}

}  // namespace

struct Resolver::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    Impl* impl = nullptr;
    std::uint64_t seq = 0;
    int async_id = 0;
    std::unique_ptr<OpBase> op;
    std::unique_ptr<asio::steady_timer> timer;
  };

  asio::strand<asio::any_io_executor> strand;
  Options opt;
  std::chrono::milliseconds timeout;  // per query (Options, else [dns] timeout)
  std::mutex mu;
  ub_ctx* ctx = nullptr;
  asio::posix::stream_descriptor sd;
  bool waiting = false;
  bool closed = false;
  std::uint64_t next_seq = 1;
  std::map<std::uint64_t, std::unique_ptr<Pending>> pending;
  std::atomic<std::uint64_t> started{0};

  Impl(asio::any_io_executor ex, Options o, std::chrono::milliseconds default_timeout)
      : strand(asio::make_strand(ex)),
        opt(std::move(o)),
        timeout(opt.timeout.value_or(default_timeout)),
        sd(strand) {}

  ~Impl() {
    if (ctx) ub_ctx_delete(ctx);
  }

  void configure(const config::DnsConfig& cfg) {
    ctx = ub_ctx_create();
    if (!ctx) throw std::runtime_error("dns: ub_ctx_create failed");
    auto check = [](int rc, const std::string& what) {
      if (rc != 0) throw std::runtime_error("dns: " + what + ": " + ub_strerror(rc));
    };
    // Unblock "test." (see the file comment): a two-line unbound config file.
    char path[] = "/tmp/tern-unbound-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("dns: cannot create a temporary unbound config");
    // Also the TEST-NET reverse zones (RFC 5737, 3849), which unbound answers
    // locally too, so PTR of 192.0.2.x works against a test server.
    static constexpr char kConf[] =
        "server:\n"
        "  local-zone: \"test.\" nodefault\n"
        "  local-zone: \"2.0.192.in-addr.arpa.\" nodefault\n"
        "  local-zone: \"100.51.198.in-addr.arpa.\" nodefault\n"
        "  local-zone: \"113.0.203.in-addr.arpa.\" nodefault\n"
        "  local-zone: \"8.b.d.0.1.0.0.2.ip6.arpa.\" nodefault\n";
    bool wrote = ::write(fd, kConf, sizeof kConf - 1) == static_cast<ssize_t>(sizeof kConf - 1);
    ::close(fd);
    int rc = wrote ? ub_ctx_config(ctx, path) : -1;
    ::unlink(path);
    if (!wrote) throw std::runtime_error("dns: cannot write a temporary unbound config");
    check(rc, "ub_ctx_config");
    if (!cfg.servers.empty()) {
      for (const auto& s : cfg.servers) check(ub_ctx_set_fwd(ctx, unbound_fwd(s).c_str()),
                                              "forwarder " + s.text());
    } else if (::access("/etc/resolv.conf", R_OK) == 0) {
      check(ub_ctx_resolvconf(ctx, "/etc/resolv.conf"), "/etc/resolv.conf");
    }
    for (const auto& ta : opt.trust_anchors) check(ub_ctx_add_ta(ctx, ta.c_str()), "trust anchor");
    if (!opt.trust_anchor_file.empty())
      check(ub_ctx_add_ta_file(ctx, opt.trust_anchor_file.c_str()), opt.trust_anchor_file);
    // Threads, not a forked helper process.
    check(ub_ctx_async(ctx, 1), "ub_ctx_async");
    int dupfd = ::dup(ub_fd(ctx));
    if (dupfd < 0) throw std::runtime_error("dns: dup(ub_fd) failed");
    sd.assign(dupfd);
  }

  // unbound's callback, run inside ub_process() with mu held.
  static void on_answer(void* arg, int err, ub_result* r) {
    auto* p = static_cast<Pending*>(arg);
    Impl* self = p->impl;
    auto it = self->pending.find(p->seq);
    if (it == self->pending.end()) {  // cannot happen: cancelled queries never call back
      if (r) ub_resolve_free(r);
      return;
    }
    auto owned = std::move(it->second);
    self->pending.erase(it);
    if (owned->timer) owned->timer->cancel();
    owned->op->complete(from_ub(err, r));
  }

  void arm_locked() {
    if (waiting || closed || pending.empty()) return;
    waiting = true;
    sd.async_wait(asio::posix::stream_descriptor::wait_read,
                  asio::bind_executor(strand, [self = shared_from_this()](boost::system::error_code ec) {
                    std::lock_guard lk(self->mu);
                    self->waiting = false;
                    if (self->closed) return;
                    // Aborted = cancelled when idle; a query may have started since.
                    if (ec && ec != asio::error::operation_aborted) return;
                    if (!ec) ub_process(self->ctx);
                    self->arm_locked();
                  }));
  }

  void start(std::unique_ptr<OpBase> op, std::string name, RrType type) {
    std::lock_guard lk(mu);
    if (closed) {
      RawAnswer a;
      a.error = "resolver shut down";
      op->complete(std::move(a));
      return;
    }
    if (!valid_query_name(name)) {
      RawAnswer a;
      a.status = Status::nxdomain;
      a.error = "bad name";
      op->complete(std::move(a));
      return;
    }
    auto p = std::make_unique<Pending>();
    p->impl = this;
    p->seq = next_seq++;
    p->op = std::move(op);
    int rc = ub_resolve_async(ctx, name.c_str(), static_cast<int>(type), 1 /* IN */, p.get(),
                              &Impl::on_answer, &p->async_id);
    started.fetch_add(1, std::memory_order_relaxed);
    if (rc != 0) {
      RawAnswer a;
      a.error = ub_strerror(rc);
      p->op->complete(std::move(a));
      return;
    }
    p->timer = std::make_unique<asio::steady_timer>(strand, timeout);
    p->timer->async_wait([self = shared_from_this(), seq = p->seq](boost::system::error_code ec) {
      if (ec) return;
      std::lock_guard lk(self->mu);
      auto it = self->pending.find(seq);
      if (it == self->pending.end()) return;
      auto owned = std::move(it->second);
      self->pending.erase(it);
      ub_cancel(self->ctx, owned->async_id);
      RawAnswer a;
      a.error = "timeout";
      owned->op->complete(std::move(a));
      // Idle: stop watching the pipe, so the resolver holds no work on its
      // io_context (a late answer in the pipe is drained by the next ub_process).
      if (self->pending.empty() && self->waiting) {
        boost::system::error_code ignored;
        self->sd.cancel(ignored);
      }
    });
    pending.emplace(p->seq, std::move(p));
    arm_locked();
  }

  void shutdown() {
    std::lock_guard lk(mu);
    if (closed) return;
    closed = true;
    for (auto& [seq, p] : pending) {
      ub_cancel(ctx, p->async_id);
      if (p->timer) p->timer->cancel();
      RawAnswer a;
      a.error = "resolver shut down";
      p->op->complete(std::move(a));
    }
    pending.clear();
    boost::system::error_code ec;
    sd.cancel(ec);
  }
};

Resolver::Resolver(asio::any_io_executor ex, const config::DnsConfig& cfg, Options opt)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opt), cfg.timeout)) {
  impl_->configure(cfg);
}

Resolver::~Resolver() { shutdown(); }

void Resolver::shutdown() { impl_->shutdown(); }

std::uint64_t Resolver::queries_started() const {
  return impl_->started.load(std::memory_order_relaxed);
}

asio::awaitable<RawAnswer> Resolver::query(std::string name, RrType type) {
  auto impl = impl_;
  auto init = [impl](auto handler, std::string n, RrType t) {
    using H = std::decay_t<decltype(handler)>;
    std::unique_ptr<OpBase> op = std::make_unique<Op<H>>(std::move(handler), impl->strand);
    impl->start(std::move(op), std::move(n), t);
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(RawAnswer)>(
      init, asio::use_awaitable, std::move(name), type);
}

namespace {
template <class Out>
void copy_meta(const RawAnswer& in, Out& out) {
  static_cast<AnswerMeta&>(out) = static_cast<const AnswerMeta&>(in);
}
// ok with nothing decodable (malformed rdata only) reads as no data.
template <class Out>
void settle(Out& out) {
  if (out.status == Status::ok && out.records.empty()) out.status = Status::no_data;
}
}  // namespace

asio::awaitable<MxAnswer> Resolver::mx(std::string domain) {
  RawAnswer raw = co_await query(std::move(domain), RrType::mx);
  std::vector<MxHost> hosts;
  std::size_t malformed = 0;
  for (const auto& rd : raw.rdata) {
    if (auto m = decode_mx(rd)) hosts.push_back(std::move(*m));
    else ++malformed;
  }
  AnswerMeta meta = static_cast<const AnswerMeta&>(raw);
  co_return make_mx_answer(std::move(meta), std::move(hosts), malformed);
}

asio::awaitable<AddressAnswer> Resolver::a(std::string host) {
  RawAnswer raw = co_await query(std::move(host), RrType::a);
  AddressAnswer out;
  copy_meta(raw, out);
  for (const auto& rd : raw.rdata)
    if (auto s = decode_a(rd)) out.records.push_back(std::move(*s));
  settle(out);
  co_return out;
}

asio::awaitable<AddressAnswer> Resolver::aaaa(std::string host) {
  RawAnswer raw = co_await query(std::move(host), RrType::aaaa);
  AddressAnswer out;
  copy_meta(raw, out);
  for (const auto& rd : raw.rdata)
    if (auto s = decode_aaaa(rd)) out.records.push_back(std::move(*s));
  settle(out);
  co_return out;
}

asio::awaitable<AddressAnswer> Resolver::addresses(std::string host) {
  std::string h6 = host;
  auto both = co_await (aaaa(std::move(h6)) && a(std::move(host)));
  AddressAnswer& v6 = std::get<0>(both);
  AddressAnswer& v4 = std::get<1>(both);
  AddressAnswer out;
  if (v6.ok() || v4.ok()) {
    out.status = Status::ok;
    out.secure = (!v6.ok() || v6.secure) && (!v4.ok() || v4.secure);
    out.ttl = v6.ok() && v4.ok() ? std::min(v6.ttl, v4.ttl) : (v6.ok() ? v6.ttl : v4.ttl);
    out.records = std::move(v6.records);
    for (auto& r : v4.records) out.records.push_back(std::move(r));
  } else if (v6.status == Status::temp_fail || v4.status == Status::temp_fail) {
    out.status = Status::temp_fail;
    out.error = v6.status == Status::temp_fail ? v6.error : v4.error;
  } else if (v6.status == Status::nxdomain && v4.status == Status::nxdomain) {
    out.status = Status::nxdomain;
    out.secure = v6.secure && v4.secure;
  } else {
    out.status = Status::no_data;
    out.secure = v6.secure && v4.secure;
  }
  co_return out;
}

asio::awaitable<TxtAnswer> Resolver::txt(std::string name) {
  RawAnswer raw = co_await query(std::move(name), RrType::txt);
  TxtAnswer out;
  copy_meta(raw, out);
  for (const auto& rd : raw.rdata)
    if (auto s = decode_txt(rd)) out.records.push_back(std::move(*s));
  settle(out);
  co_return out;
}

asio::awaitable<NameAnswer> Resolver::ptr(std::string ip) {
  NameAnswer out;
  auto rev = reverse_name(ip);
  if (!rev) {
    out.status = Status::nxdomain;
    out.error = "not an IP address";
    co_return out;
  }
  RawAnswer raw = co_await query(std::move(*rev), RrType::ptr);
  copy_meta(raw, out);
  for (const auto& rd : raw.rdata) {
    std::size_t pos = 0;
    auto n = decode_name(rd, pos);
    if (n && pos == rd.size() && !n->empty()) out.records.push_back(std::move(*n));
  }
  settle(out);
  co_return out;
}

}  // namespace tern::dns
