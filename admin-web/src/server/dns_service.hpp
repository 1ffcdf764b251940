#pragma once
// The DNS page's resolver: the shared asynchronous tern::dns::Resolver with its
// libunbound callbacks on a thread of its own (as tern-mta runs it), and a short
// per-query timeout so a page whose records cannot be looked up answers "could not
// check" within seconds. Connections co_await it from their own io threads.
#include <chrono>
#include <memory>
#include <thread>

#include "tern/config/config.hpp"
#include "tern/net/asio.hpp"

namespace tern::dns {
class Resolver;
}

namespace tern::web {

class DnsService {
 public:
  // Never throws: when libunbound refuses the configuration, resolver() is nullptr
  // (logged) and the DNS page says the records were not checked.
  DnsService(const config::Config& cfg, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  ~DnsService();  // answers pending queries (temp_fail), stops the thread
  DnsService(const DnsService&) = delete;
  DnsService& operator=(const DnsService&) = delete;

  dns::Resolver* resolver() { return resolver_.get(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::thread thread_;
};

}  // namespace tern::web
