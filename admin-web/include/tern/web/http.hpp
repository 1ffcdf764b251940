#pragma once
// Request and Response as the web panel's pure code sees them: no Beast types.
// The Beast driver (admin-web/src/server) fills a Request from the parsed message and
// writes a Response back; handlers, the router and unit tests only use these structs.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::web {

struct Header {
  std::string name;   // lower case
  std::string value;
};

struct Request {
  std::string method;                 // "GET", "POST", ... (upper case, as sent)
  std::string target;                 // "/domains?x=1" as sent
  std::string path;                   // "/domains" (still percent-encoded)
  std::string query;                  // "x=1" (without '?')
  std::vector<Header> headers;        // names lower-cased
  std::string body;
  std::string peer_ip;
  bool tls = false;

  // First header with this (lower-case) name, or "".
  std::string_view header(std::string_view lower_name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;        // besides the security headers the server adds
  std::string body;

  Response& set(std::string name, std::string value);  // replaces a header of that name
  Response& add(std::string name, std::string value);  // Set-Cookie may repeat
  std::string_view header(std::string_view lower_name) const;
};

// "OK", "Not Found", ... for the status line.
std::string_view status_reason(int status);

// Splits "/a/b?x=1" into path and query.
std::pair<std::string, std::string> split_target(std::string_view target);

}  // namespace tern::web
