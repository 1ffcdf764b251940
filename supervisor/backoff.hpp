#pragma once
// Restart delay of a crashed daemon: 1 s, 2 s, 4 s ... at most 60 s; back to 1 s once the
// daemon had run for 60 s. Pure.
#include <algorithm>
#include <chrono>

namespace tern::supervisor {

class Backoff {
 public:
  static constexpr std::chrono::seconds kFirst{1};
  static constexpr std::chrono::seconds kMax{60};
  static constexpr std::chrono::seconds kStable{60};  // uptime that resets the delay

  // The daemon exited after running `uptime`: returns how long to wait before restarting.
  std::chrono::seconds on_exit(std::chrono::steady_clock::duration uptime) {
    if (uptime >= kStable) next_ = kFirst;
    auto d = next_;
    next_ = std::min(next_ * 2, kMax);
    return d;
  }

 private:
  std::chrono::seconds next_ = kFirst;
};

}  // namespace tern::supervisor
