// Outbound queue worker (worker.hpp): scheduling, routing, connections.
#include "queue/worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <future>
#include <thread>

#include "autoreply.hpp"  // parse_header_fields
#include "queue/dkim_keys.hpp"
#include "queue/outcome.hpp"
#include "queue/srs.hpp"
#include "smtp_client/driver.hpp"
#include "tern/dkim/signer.hpp"
#include "tern/dns/resolver.hpp"
#include "tern/net/connection.hpp"

namespace tern::mta::queue {
namespace {

using client::OutMessage;
using smtp::Reply;

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string domain_of(std::string_view a) {
  auto at = a.rfind('@');
  return at == std::string_view::npos ? std::string() : lower(a.substr(at + 1));
}

bool is_ip_literal(const std::string& h) {
  boost::system::error_code ec;
  asio::ip::make_address(h, ec);
  return !ec;
}

bool has_8bit(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("outbound: {}", x.what());
  }
}

// The message as queued, ready to send: our Return-Path line (a shared body of a
// message that also had local recipients, see delivery.cpp) dropped.
std::string strip_return_path(std::string body) {
  if (body.rfind("Return-Path:", 0) == 0) {
    auto nl = body.find('\n');
    body.erase(0, nl == std::string::npos ? body.size() : nl + 1);
  }
  return body;
}

}  // namespace

struct Batch {
  std::string dest;
  std::vector<store::QueueEntry> entries;  // same blob and sender
  OutMessage msg;
  std::string original;  // as queued, for DSNs
  queue::AttemptInfo info;
};
using BatchPtr = std::unique_ptr<Batch>;

struct QueueWorker::Impl {
  const config::Config& cfg;
  store::Store& store;
  asio::thread_pool& pool;
  // The live connections (commit_runner's due_count). Declared before io: a Source
  // leaves the set in its destructor, which io's destructor runs for connections still
  // open at shutdown, so the set must outlive io.
  class Source;
  std::set<Source*> sources;
  asio::io_context io{1};
  std::unique_ptr<dns::Resolver> resolver;
  std::shared_ptr<asio::ssl::context> tls_may, tls_verify;
  std::thread thread;
  bool stopping = false;
  std::atomic<bool> stop_requested{false};

  // Relay (smarthost).
  bool relay = false;
  std::string relay_host;
  std::uint16_t relay_port = 587;
  std::string relay_password;

  struct Dest {
    std::deque<BatchPtr> pending;
    unsigned active = 0;
  };
  std::map<std::string, Dest> dests;
  std::set<store::QueueId> in_flight;
  unsigned total_active = 0;

  // Scanning (on io): every kScanEvery, at once when kicked, and, while nothing is in
  // flight, within kWatchGap of any store commit (ternctl queue flush, a submission).
  static constexpr auto kScanEvery = std::chrono::milliseconds(250);
  static constexpr auto kWatchGap = std::chrono::milliseconds(20);
  static constexpr std::size_t kScanSlice = 1000;  // due entries read per scan
  asio::steady_timer scan_timer{io};
  bool scan_kicked = false;
  bool scan_truncated = false;  // the last scan stopped at kScanSlice: more are due

  Impl(const config::Config& c, store::Store& s, asio::thread_pool& p) : cfg(c), store(s), pool(p) {
    if (!cfg.relay.host.empty()) {
      relay = true;
      auto colon = cfg.relay.host.rfind(':');
      relay_host = cfg.relay.host.substr(0, colon);
      if (colon != std::string::npos) relay_port = static_cast<std::uint16_t>(std::stoi(cfg.relay.host.substr(colon + 1)));
      if (!relay_host.empty() && relay_host.front() == '[') relay_host = relay_host.substr(1, relay_host.size() - 2);
      if (!cfg.relay.password_file.empty()) {
        std::ifstream f(cfg.relay.password_file);
        if (!f) throw std::runtime_error("[relay] password_file " + cfg.relay.password_file + ": cannot read it");
        std::getline(f, relay_password);
        while (!relay_password.empty() && (relay_password.back() == '\r' || relay_password.back() == '\n'))
          relay_password.pop_back();
      }
    }
    tls_may = client::make_client_tls_context(false, "");
    tls_verify = client::make_client_tls_context(true, cfg.outbound.ca_file);
    resolver = std::make_unique<dns::Resolver>(io.get_executor(), cfg.dns);
  }

  template <class F>
  asio::awaitable<decltype(std::declval<F>()())> blocking(F f) {
    using R = decltype(f());
    co_return co_await net::detail::run_on_pool<R>(pool, io.get_executor(), std::move(f));
  }

  std::string dest_key(const store::QueueEntry& e) const { return relay ? std::string("[relay]") : domain_of(e.recipient); }

  // ------------------------------------------------------------ scanning
  // Scans again as soon as the current scan (if any) is done.
  void kick_scan() {
    scan_kicked = true;
    scan_timer.cancel();
  }

  asio::awaitable<void> scan_loop() {
    // The store's commit watcher (one inotify instance): an idle worker looks at the
    // queue right after a commit instead of at the next 250 ms tick. Wrapped without
    // owning its fd (released before the descriptor is destroyed).
    std::unique_ptr<store::Store::Watcher> watcher = store.watch();
    std::optional<asio::posix::stream_descriptor> sd;
    if (watcher && watcher->fd() >= 0) sd.emplace(io, watcher->fd());
    struct Release {
      std::optional<asio::posix::stream_descriptor>& sd;
      ~Release() {
        if (sd) sd->release();
      }
    } release{sd};
    while (!stop_requested) {
      scan_kicked = false;
      const auto scanned = std::chrono::steady_clock::now();
      co_await scan();
      if (scan_kicked || stop_requested) continue;
      scan_timer.expires_after(kScanEvery);
      if (sd && in_flight.empty()) {
        auto [order, ec, timer_ec] =
            co_await asio::experimental::make_parallel_group(
                sd->async_wait(asio::posix::descriptor_base::wait_read, asio::deferred),
                scan_timer.async_wait(asio::deferred))
                .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        (void)timer_ec;
        if (order[0] == 0 && !ec) {
          watcher->drain();
          // At most one watcher-woken scan per kWatchGap (inbound mail commits too).
          scan_timer.expires_at(scanned + kWatchGap);
          auto [gap_ec] = co_await scan_timer.async_wait(asio::as_tuple(asio::use_awaitable));
          (void)gap_ec;
        }
      } else {
        auto [ec] = co_await scan_timer.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ec;  // cancelled: kicked
      }
    }
    stopping = true;
  }

  asio::awaitable<void> scan() {
    auto now = static_cast<store::UnixTime>(std::time(nullptr));
    std::size_t limit = in_flight.size() + kScanSlice;
    store::Store* st = &store;
    auto job = [st, now, limit] { return st->due_queue(now, limit); };
    auto due = co_await blocking(std::move(job));
    if (!due) {
      spdlog::error("outbound: reading the queue failed: {}", due.error().message());
      co_return;
    }
    scan_truncated = due->size() >= limit;
    std::map<std::tuple<std::string, store::BlobId, std::string>, Batch*> open;
    std::set<std::string> touched;
    for (auto& e : *due) {
      if (in_flight.count(e.id)) continue;
      in_flight.insert(e.id);
      std::string key = dest_key(e);
      auto k = std::make_tuple(key, e.blob, e.sender);
      auto it = open.find(k);
      if (it == open.end() || it->second->entries.size() >= cfg.limits.recipients) {
        auto b = std::make_unique<Batch>();
        b->dest = key;
        open[k] = b.get();
        dests[key].pending.push_back(std::move(b));
        it = open.find(k);
      }
      it->second->entries.push_back(std::move(e));
      touched.insert(key);
    }
    for (const auto& key : touched) spawn_workers(key);
  }

  void spawn_workers(const std::string& key) {
    auto& d = dests[key];
    while (!d.pending.empty() && d.active < cfg.outbound.connections_per_destination &&
           total_active < cfg.outbound.connections && d.active < d.pending.size() + d.active) {
      ++d.active;
      ++total_active;
      asio::co_spawn(io, dest_worker(key), log_exception);
      if (d.active >= d.pending.size()) break;  // no more connections than messages
    }
  }

  // ------------------------------------------------------------ messages
  struct DomainKeys {
    std::string domain;
    std::vector<store::DkimKey> keys;
  };

  // The queued body and, unless forwarded, the DKIM keys of its From domain: one trip
  // to the pool. BLOCKING.
  struct Loaded {
    bool ok = false;
    std::string body;  // Return-Path line dropped
    DomainKeys dk;
  };
  static Loaded load_message(store::Store& st, store::BlobId blob, bool forwarded) {
    Loaded out;
    auto r = st.read_blob(blob, [&](std::string_view c) {
      out.body.append(c);
      return true;
    });
    if (!r) return out;
    out.ok = true;
    out.body = strip_return_path(std::move(out.body));
    if (!forwarded) out.dk = signing_domain_keys(st, std::string(header_block(out.body)));
    return out;
  }

  // Loads the body, signs it (DKIM) and fills the envelope. BLOCKING parts on the pool.
  asio::awaitable<bool> prepare(Batch& b) {
    const store::QueueEntry& first = b.entries.front();
    store::Store* st = &store;
    store::BlobId blob = first.blob;
    bool forwarded = (first.flags & store::kQueueForwarded) != 0;
    auto job = [st, blob, forwarded] { return load_message(*st, blob, forwarded); };
    Loaded loaded = co_await blocking(std::move(job));
    if (!loaded.ok) co_return false;
    b.original = std::move(loaded.body);
    std::string signed_body;
    DomainKeys dk = std::move(loaded.dk);
    if (dk.keys.empty()) {
      signed_body = b.original;
    } else {
      // Key rotation (dkim_keys.hpp): where a domain has several keys of one
      // algorithm, DNS says which one is published.
      std::map<std::string, Published> states;
      for (const auto& k : dk.keys) {
        if (!needs_dns(dk.keys, k)) continue;
        Published p = co_await published_state(k);
        states[k.selector] = p;
      }
      auto chosen = choose_signing_keys(dk.keys, [&states](const store::DkimKey& k) {
        auto it = states.find(k.selector);
        return it == states.end() ? Published::unknown : it->second;
      });
      std::string dom = dk.domain;
      const std::string* original = &b.original;
      const std::vector<store::DkimKey>* keys = &chosen;
      const std::string* domp = &dom;
      auto sign_job = [original, domp, keys]() { return dkim_sign(*original, *domp, *keys); };
      signed_body = co_await blocking(std::move(sign_job));
    }
    b.msg.body = std::move(signed_body);
    auto& env = b.msg.env;
    env.mail_from = first.sender;
    env.rcpts.clear();
    for (const auto& e : b.entries) env.rcpts.push_back({e.recipient, e.dsn.notify, e.dsn.orcpt});
    env.size = b.msg.body.size();
    env.needs_8bitmime = has_8bit(b.msg.body);
    env.needs_smtputf8 = has_8bit(first.sender) ||
                         std::any_of(b.entries.begin(), b.entries.end(), [](const store::QueueEntry& e) { return has_8bit(e.recipient); });
    env.ret = first.dsn.ret;
    env.envid = first.dsn.envid;
    co_return true;
  }

  // TXT answers for DKIM key records, cached: published 10 min, not (yet) 1 min.
  struct TxtCacheEntry {
    dns::Status status = dns::Status::temp_fail;
    std::vector<std::string> records;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, TxtCacheEntry> dkim_txt_cache;

  asio::awaitable<Published> published_state(const store::DkimKey& k) {
    const std::string name = dkim_record_name(k);
    auto now = std::chrono::steady_clock::now();
    auto it = dkim_txt_cache.find(name);
    if (it == dkim_txt_cache.end() || it->second.expires <= now) {
      auto t = co_await resolver->txt(name);
      TxtCacheEntry e;
      e.status = t.status;
      e.records = t.records;
      if (dkim_txt_cache.size() > 10000) dkim_txt_cache.clear();
      it = dkim_txt_cache.insert_or_assign(name, std::move(e)).first;
      Published p = it->second.status == dns::Status::temp_fail ? Published::unknown
                                                                : key_published(k, it->second.records);
      it->second.expires = now + (p == Published::yes ? std::chrono::minutes(10) : std::chrono::minutes(1));
    }
    if (it->second.status == dns::Status::temp_fail) co_return Published::unknown;
    co_return key_published(k, it->second.records);
  }

  // The local From domain of a message (its header block) and its DKIM keys (none: not
  // ours, or no keys). BLOCKING (store reads).
  static DomainKeys signing_domain_keys(store::Store& st, const std::string& head) {
    DomainKeys out;
    std::string from;
    for (auto& [name, value] : parse_header_fields(head))
      if (lower(name) == "from") from = value;
    auto lt = from.rfind('<');
    std::string addr = lt != std::string::npos ? from.substr(lt + 1, from.find('>', lt) - lt - 1) : from;
    while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr.back()))) addr.pop_back();
    while (!addr.empty() && std::isspace(static_cast<unsigned char>(addr.front()))) addr.erase(0, 1);
    std::string dom = domain_of(addr);
    if (dom.empty() || !st.domain_exists(dom)) return out;
    auto keys = st.get_dkim_keys(dom);
    if (!keys) return out;
    out.domain = dom;
    out.keys = std::move(*keys);
    for (auto& k : out.keys) k.domain = dom;
    return out;
  }

  // DKIM-sign with the chosen keys (rsa first, then ed25519). CPU: on the pool.
  static std::string dkim_sign(const std::string& msg, const std::string& dom, const std::vector<store::DkimKey>& keys) {
    std::string fields;
    for (const auto& k : keys) {
      std::string err;
      auto key = dkim::PrivateKey::from_pem(k.private_key_pem, &err);
      if (!key) {
        spdlog::error("outbound: DKIM key {}._domainkey.{} unusable: {}", k.selector, dom, err);
        continue;
      }
      dkim::SignOptions o;
      o.domain = dom;
      o.selector = k.selector;
      o.timestamp = std::time(nullptr);
      auto f = dkim::sign(msg, *key, o, &err);
      if (!f) {
        spdlog::error("outbound: DKIM signing for {} failed: {}", dom, err);
        continue;
      }
      fields += *f;
    }
    return fields + msg;
  }

  void fail_batch(BatchPtr b, const Reply& why) {
    b->msg.result.rcpt.assign(b->entries.size(), why);
    asio::co_spawn(io, finalize(std::move(b)), log_exception);
  }

  void fail_pending(Dest& d, const Reply& why) {
    while (!d.pending.empty()) {
      BatchPtr b = std::move(d.pending.front());
      d.pending.pop_front();
      fail_batch(std::move(b), why);
    }
  }

  // `committing` (a connection's Source::committing_, see due()) is cleared the moment
  // the result's commit is done.
  asio::awaitable<void> finalize(BatchPtr b, bool* committing = nullptr) {
    std::vector<RcptAttempt> rcpts;
    for (std::size_t i = 0; i < b->entries.size(); ++i) {
      RcptAttempt a;
      a.entry = b->entries[i];
      a.reply = i < b->msg.result.rcpt.size() ? b->msg.result.rcpt[i] : Reply();
      if (a.reply.empty()) a.reply = Reply(451, "4.4.2", "not attempted");
      a.relayed_without_dsn = b->msg.result.dsn_relayed;
      rcpts.push_back(std::move(a));
    }
    b->info.tls = b->msg.tls;
    auto now = std::time(nullptr);
    for (const auto& a : rcpts) {
      const char* status = a.reply.positive() ? "sent" : a.reply.permanent() ? "bounced" : "deferred";
      spdlog::info("{}: to=<{}>, relay={}{}, tls={}, status={} ({})",
                   a.entry.message_id.empty() ? "Q" + std::to_string(a.entry.id) : a.entry.message_id,
                   a.entry.recipient, b->info.host.empty() ? "none" : b->info.host,
                   b->info.address.empty() ? "" : "[" + b->info.address + "]",
                   b->info.tls.empty() ? "none" : b->info.tls, status, a.reply.summary());
    }
    OutcomePlan plan = decide_outcome(cfg, rcpts, b->info, now);
    store::Result<void> res;
    if (plan.dsns.empty()) {
      res = co_await commit_grouped(std::move(plan), committing);
    } else {
      store::Store* st = &store;
      const config::Config* c = &cfg;
      const std::string* original = &b->original;
      auto job = [st, c, p = std::move(plan), original, now]() mutable {
        return commit_outcome(*st, *c, std::move(p), *original, now);
      };
      res = co_await blocking(std::move(job));
    }
    if (!res)
      spdlog::error("outbound: recording the attempt failed ({}); the entries stay queued", res.error().message());
    for (const auto& e : b->entries) in_flight.erase(e.id);
    // Nothing left in flight: the scan loop goes back to watching commits (it waits on
    // the 250 ms tick alone while anything is in flight).
    if (in_flight.empty()) kick_scan();
  }

  // ------------------------------------------------------------ commits
  // Outcomes without a DSN (the common case: a 250, or a retry) of all connections
  // are committed together: whatever finished while the previous commit was running
  // goes into the next one, as ONE update_queue (one txn, one fsync, one trip to the
  // pool instead of one per message). Each connection still has at most one message
  // waiting here (driver.hpp), so the crash window stays one commit.
  //
  // Gathering: when a commit ends, the connections it held (driver.hpp: a message's
  // end waits for the previous commit) send their message's end, and their results
  // follow one round trip later. Committing what is queued at once would leave those
  // for the commit after, so the connections would take turns, half of them in each
  // commit. Instead the next commit waits while some connection is "due" (its current
  // message is not held behind a commit, so its result can come any moment), but
  // never longer than the last commit took (kMaxGather at most): a result that comes
  // later would have waited that long for the next commit anyway.
  static constexpr std::chrono::milliseconds kMaxGather{20};
  struct CommitWait {
    explicit CommitWait(asio::io_context& io) : timer(io, std::chrono::steady_clock::time_point::max()) {}
    OutcomePlan plan;
    bool done = false;
    bool* release = nullptr;  // set to false when done (the connection is no longer held)
    store::Result<void> res;
    asio::steady_timer timer;  // cancelled when done
  };
  std::vector<CommitWait*> commit_queue;
  bool committing = false;
  asio::steady_timer gather_timer{io};
  bool gathering = false;
  std::chrono::steady_clock::duration last_commit{0};

  std::size_t due_count() const;
  // A connection's result arrived: the gathering commit need not wait for it any more.
  void result_arrived() {
    if (gathering && due_count() == 0) gather_timer.cancel();
  }

  asio::awaitable<store::Result<void>> commit_grouped(OutcomePlan plan, bool* release) {
    CommitWait w(io);
    w.plan = std::move(plan);
    w.release = release;
    commit_queue.push_back(&w);
    if (!committing) {
      committing = true;
      asio::co_spawn(io, commit_runner(), log_exception);
    }
    while (!w.done) {
      auto r = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)r;
    }
    co_return w.res;
  }

  asio::awaitable<void> commit_runner() {
    while (!commit_queue.empty()) {
      auto gather = std::min<std::chrono::steady_clock::duration>(last_commit, kMaxGather);
      if (gather.count() > 0 && due_count() > 0) {
        gathering = true;
        gather_timer.expires_after(gather);
        auto g = co_await gather_timer.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)g;  // expired, or cancelled by result_arrived
        gathering = false;
      }
      std::vector<CommitWait*> group;
      group.swap(commit_queue);
      std::vector<store::QueueChange> changes;
      std::vector<store::DeliveryEvent> events;
      for (auto* w : group) {
        for (auto& c : w->plan.changes) changes.push_back(std::move(c));
        for (auto& e : w->plan.events) events.push_back(std::move(e));
      }
      store::Store* st = &store;
      const auto* cp = &changes;
      const auto* ep = &events;
      auto job = [st, cp, ep] { return st->update_queue(*cp, *ep); };
      store::Result<void> r;
      auto t0 = std::chrono::steady_clock::now();
      try {
        r = co_await blocking(std::move(job));
      } catch (const std::exception& e) {
        spdlog::error("outbound: committing {} results failed: {}", group.size(), e.what());
        r = store::Errc::io_error;
      }
      last_commit = std::chrono::steady_clock::now() - t0;
      for (auto* w : group) {
        if (w->release) *w->release = false;
        w->res = r;
        w->done = true;
        w->timer.cancel();
      }
    }
    committing = false;
  }

  // ------------------------------------------------------------ connections
  class Source final : public client::MessageSource {
   public:
    Source(Impl& w, const std::string& key, std::string host, std::string address)
        : w_(w), key_(key), host_(std::move(host)), address_(std::move(address)) {
      w_.sources.insert(this);
    }
    ~Source() override { w_.sources.erase(this); }
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    // Its current message's result can come at any moment: the message is under way
    // and not held behind the commit of the previous one (see commit_runner).
    bool due() const { return current_ != nullptr && !committing_; }
    asio::awaitable<OutMessage*> next() override {
      for (;;) {
        auto& d = w_.dests[key_];
        if (w_.stop_requested || d.pending.empty()) co_return nullptr;
        BatchPtr b = std::move(d.pending.front());
        d.pending.pop_front();
        // A long queue is read kScanSlice entries at a time: the next slice is read
        // before this destination runs dry, not at the next tick.
        if (w_.scan_truncated && d.pending.size() < w_.cfg.outbound.connections_per_destination) w_.kick_scan();
        bool ok = co_await w_.prepare(*b);
        if (!ok) {
          w_.fail_batch(std::move(b), Reply(451, "4.3.0", "could not read the queued message"));
          continue;
        }
        b->info.host = host_;
        b->info.address = address_;
        OutMessage* m = &b->msg;
        m->cookie = b.get();
        current_ = b.get();
        active_[b.get()] = std::move(b);
        ++sent_;
        co_return m;
      }
    }
    // The commit of the attempt, awaited by the connection (driver.hpp).
    asio::awaitable<void> done(OutMessage* m) override {
      auto it = active_.find(static_cast<Batch*>(m->cookie));
      if (it == active_.end()) co_return;
      BatchPtr b = std::move(it->second);
      active_.erase(it);
      if (current_ == b.get()) current_ = nullptr;
      committing_ = true;
      // No co_await before finalize queues the result (commit_grouped): the gathering
      // commit, woken here, cannot start without it.
      w_.result_arrived();
      try {
        co_await w_.finalize(std::move(b), &committing_);
      } catch (const std::exception& e) {
        spdlog::error("outbound: recording an attempt failed: {}", e.what());
      }
      committing_ = false;
    }
    unsigned sent() const { return sent_; }

   private:
    Impl& w_;
    std::string key_;
    std::string host_, address_;
    std::map<Batch*, BatchPtr> active_;
    unsigned sent_ = 0;
    Batch* current_ = nullptr;  // from next() until done()
    bool committing_ = false;   // its last result's commit is not done yet
  };

  struct Hop {
    std::string host;
    bool implicit_mx = false;  // the domain itself (no MX records)
  };

  // What one delivery run to a destination may try (Postfix: smtp_mx_address_limit 5):
  // a domain with hundreds of MX hosts or addresses, its owner's choice, must not keep a
  // destination slot busy for hours of connect timeouts. The rest wait for the retry.
  static constexpr std::size_t kMaxMxHosts = 10;
  static constexpr std::size_t kMaxAddresses = 10;

  asio::awaitable<void> dest_worker(std::string key) {
    Reply last(451, "4.4.1", "no destination could be reached");
    bool routed = true;
    std::vector<Hop> hops;
    std::uint16_t port = cfg.outbound.port;
    if (relay) {
      hops.push_back({relay_host, false});
      port = relay_port;
    } else if (key.size() > 2 && key.front() == '[' && key.back() == ']') {
      // An address literal (RFC 5321 §4.1.3): that host, no DNS.
      std::string lit = key.substr(1, key.size() - 2);
      if (lit.rfind("ipv6:", 0) == 0) lit = lit.substr(5);
      if (is_ip_literal(lit) && (lit.find(':') != std::string::npos) == (key.rfind("[ipv6:", 0) == 0)) {
        hops.push_back({lit, false});
      } else {
        last = Reply(550, "5.1.2", "bad address literal " + key);
        routed = false;
      }
    } else {
      auto mx = co_await resolver->mx(key);
      if (mx.status == dns::Status::temp_fail) {
        last = Reply(451, "4.4.3", "MX lookup for " + key + " failed: " + mx.error);
        routed = false;
      } else if (mx.status == dns::Status::nxdomain) {
        last = Reply(550, "5.1.2", "domain " + key + " does not exist (DNS NXDOMAIN)");
        routed = false;
      } else if (mx.null_mx) {
        last = Reply(556, "5.1.10", "domain " + key + " accepts no mail (null MX, RFC 7505)");
        routed = false;
      } else if (mx.status == dns::Status::no_data) {
        hops.push_back({key, true});  // RFC 5321 §5.1: the implicit MX
      } else {
        for (auto& r : mx.records) hops.push_back({r.host, false});
      }
    }
    std::size_t tried = 0;
    for (std::size_t h = 0; routed && h < hops.size(); ++h) {
      if (dests[key].pending.empty() || stop_requested) break;
      if (h == kMaxMxHosts || tried == kMaxAddresses) {
        spdlog::info("outbound: {}: tried {} MX host{} and {} address{}, the limit; the rest wait for the next attempt",
                     key, h, h == 1 ? "" : "s", tried, tried == 1 ? "" : "es");
        break;
      }
      const Hop& hop = hops[h];
      std::vector<std::string> addrs;
      if (is_ip_literal(hop.host)) {
        addrs.push_back(hop.host);
      } else {
        auto a = co_await resolver->addresses(hop.host);
        if (!a.ok()) {
          if (hop.implicit_mx && a.status != dns::Status::temp_fail && hops.size() == 1)
            last = Reply(550, "5.1.2", "domain " + key + " has no MX and no address");
          else
            last = Reply(451, "4.4.3", "no address for " + hop.host + ": " +
                                           (a.error.empty() ? std::string(dns::to_string(a.status)) : a.error));
          continue;
        }
        addrs = a.records;
      }
      for (const auto& ip : addrs) {
        if (dests[key].pending.empty() || stop_requested || tried == kMaxAddresses) break;
        ++tried;
        client::Policy pol;
        pol.helo_name = cfg.hostname;
        client::ClientTls tls;
        tls.verify_name = hop.host;
        if (relay) {
          pol.tls = client::TlsPolicy::required;
          pol.implicit_tls = cfg.relay.tls == "implicit" || (cfg.relay.tls == "auto" && port == 465);
          pol.auth_user = cfg.relay.username;
          pol.auth_password = relay_password;
          tls.verify = true;
          tls.ctx = tls_verify;
        } else if (cfg.outbound.tls == "verify") {
          pol.tls = client::TlsPolicy::required;
          tls.verify = true;
          tls.ctx = tls_verify;
        } else {
          pol.tls = client::TlsPolicy::may;
          tls.ctx = tls_may;
        }
        std::string where = (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
        Source src(*this, key, hop.host, where);
        auto rep = co_await client::run_client_connection(ip, port, pol, tls, src);
        if (!rep.failure.empty()) {
          last = rep.failure;
          spdlog::warn("outbound: {} {}: {}", hop.host, where, rep.failure.summary());
          // The relay refused our login (or the session): every message would meet the
          // same answer, so they all bounce with it (a 4xx defers them instead).
          if (relay && rep.failure_permanent) {
            spdlog::error("outbound: the relay {} refused the session{}: {}; the queued messages bounce",
                          where, cfg.relay.username.empty() ? "" : " for user " + cfg.relay.username,
                          rep.failure.summary());
            break;
          }
        }
      }
      if (relay && last.permanent()) break;
    }
    auto& d = dests[key];
    if (!d.pending.empty()) fail_pending(d, last);
    --d.active;
    --total_active;
    if (d.active == 0 && d.pending.empty()) dests.erase(key);
    // A connection is free now: destinations that waited for one under the total cap
    // ([outbound] connections) get it. A scan only starts workers for the destinations
    // it adds entries to, so without this they would wait until new mail for them came.
    // (Only where batches outnumber the connections: a connection still setting up takes
    // its batch later, and a second one for it would only race it.)
    if (stop_requested) co_return;  // shutting down: nothing new starts
    std::vector<std::string> waiting;
    for (const auto& [k, dest] : dests)
      if (dest.pending.size() > dest.active && dest.active < cfg.outbound.connections_per_destination)
        waiting.push_back(k);
    for (const auto& k : waiting) {
      if (total_active >= cfg.outbound.connections) break;
      spawn_workers(k);
    }
  }
};

std::size_t QueueWorker::Impl::due_count() const {
  return static_cast<std::size_t>(std::count_if(sources.begin(), sources.end(), [](const Source* s) { return s->due(); }));
}

QueueWorker::QueueWorker(const config::Config& cfg, store::Store& store, asio::thread_pool& blocking)
    : impl_(std::make_unique<Impl>(cfg, store, blocking)) {}

QueueWorker::~QueueWorker() { stop(); }

void QueueWorker::start() {
  asio::co_spawn(impl_->io, impl_->scan_loop(), log_exception);
  impl_->thread = std::thread([this] {
    try {
      impl_->io.run();
    } catch (const std::exception& e) {
      spdlog::critical("outbound worker: {}", e.what());
    }
  });
}

void QueueWorker::stop(std::chrono::seconds grace) {
  if (!impl_->thread.joinable()) return;
  impl_->stop_requested = true;
  auto deadline = std::chrono::steady_clock::now() + grace;
  // total_active is read racily here; it only gates how long we wait.
  while (std::chrono::steady_clock::now() < deadline) {
    bool idle = false;
    std::promise<bool> p;
    auto f = p.get_future();
    asio::post(impl_->io, [&] { p.set_value(impl_->total_active == 0 && impl_->in_flight.empty()); });
    if (f.wait_for(std::chrono::seconds(1)) == std::future_status::ready) idle = f.get();
    if (idle) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  impl_->resolver->shutdown();
  impl_->io.stop();
  impl_->thread.join();
}

}  // namespace tern::mta::queue
