#pragma once
// Routing of (method, path) to a handler. Patterns are '/'-separated literal segments
// and {name} captures of one whole segment: "/domains/{domain}/mailboxes". Captured
// segments are percent-decoded; a capture that does not decode, or decodes to
// something with '/' or a control character, does not match.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::web {

using Params = std::vector<std::pair<std::string, std::string>>;

// Matches one pattern against a path; fills params on success.
bool match_pattern(std::string_view pattern, std::string_view path, Params& params);

// The value of a capture ("" if absent).
std::string param(const Params& p, std::string_view name);

template <class H>
class Router {
 public:
  void add(std::string method, std::string pattern, H handler) {
    routes_.push_back({std::move(method), std::move(pattern), std::move(handler)});
  }
  struct Match {
    const H* handler = nullptr;   // null: no route
    Params params;
    bool method_not_allowed = false;  // the path exists with another method
  };
  Match match(std::string_view method, std::string_view path) const {
    Match m;
    for (const auto& r : routes_) {
      Params p;
      if (!match_pattern(r.pattern, path, p)) continue;
      if (r.method == method || (method == "HEAD" && r.method == "GET")) {
        m.handler = &r.handler;
        m.params = std::move(p);
        m.method_not_allowed = false;
        return m;
      }
      m.method_not_allowed = true;
    }
    return m;
  }

 private:
  struct Route {
    std::string method;
    std::string pattern;
    H handler;
  };
  std::vector<Route> routes_;
};

}  // namespace tern::web
