#pragma once
// systemd's notify protocol (Type=notify in tern.service) through libsystemd's
// sd_notify: READY once the daemons are started on their sockets, RELOADING/READY
// around a SIGHUP, STOPPING, and WATCHDOG keep-alives. Without NOTIFY_SOCKET (not
// started by systemd) every call does nothing.
#include <chrono>
#include <optional>
#include <string>

namespace tern::supervisor::notify {

void ready(const std::string& status);
void reloading();
void stopping();
void watchdog();
// Half the WatchdogSec= interval systemd asked for (the keep-alive period), if any.
std::optional<std::chrono::milliseconds> watchdog_period();

}  // namespace tern::supervisor::notify
