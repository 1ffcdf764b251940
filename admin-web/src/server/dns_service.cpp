#include "dns_service.hpp"

#include "tern/dns/resolver.hpp"
#include "tern/log/log.hpp"

namespace tern::web {

DnsService::DnsService(const config::Config& cfg, std::chrono::milliseconds timeout)
    : work_(asio::make_work_guard(io_)) {
  try {
    dns::Options o;
    o.timeout = timeout;
    resolver_ = std::make_unique<dns::Resolver>(io_.get_executor(), cfg.dns, o);
  } catch (const std::exception& e) {
    spdlog::error("tern-web: DNS resolver: {}; the DNS page will not check live DNS", e.what());
    return;
  }
  thread_ = std::thread([this] { io_.run(); });
}

DnsService::~DnsService() {
  if (resolver_) resolver_->shutdown();
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  resolver_.reset();  // before the io_context (resolver.hpp)
}

}  // namespace tern::web
