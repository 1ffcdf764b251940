// libFuzzer target: MessageEncoder (CRLF normalisation, dot-stuffing, TOP).
// Checks the invariants the POP3 octet counts rely on: the wire form splits into CRLF
// lines, no line is a lone "." before the end, unstuffing gives exactly pop3_size()
// octets, and chunking does not change the output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/pop3/message_encoder.hpp"

using namespace tern::pop3;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string whole;
  {
    MessageEncoder e;
    e.feed(in, whole);
    e.finish(whole);
  }
  std::string split;
  {
    MessageEncoder e;
    std::size_t step = size ? (data[0] % 13) + 1 : 1;
    for (std::size_t i = 0; i < in.size(); i += step) e.feed(in.substr(i, step), split);
    e.finish(split);
  }
  if (whole != split) std::abort();
  if (whole.size() < 3 || whole.compare(whole.size() - 3, 3, ".\r\n") != 0) std::abort();
  std::string_view body(whole.data(), whole.size() - 3);
  std::uint64_t unstuffed = 0;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t e = body.find("\r\n", i);
    if (e == std::string_view::npos) std::abort();
    std::string_view line = body.substr(i, e - i);
    if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos) std::abort();
    if (line == ".") std::abort();
    unstuffed += line.size() + 2 - ((!line.empty() && line[0] == '.') ? 1 : 0);
    i = e + 2;
  }
  if (unstuffed != pop3_size(in)) std::abort();
  // TOP never sends more than RETR.
  std::string top;
  MessageEncoder t(std::uint64_t(size % 4));
  t.feed(in, top);
  t.finish(top);
  if (top.size() > whole.size()) std::abort();
  return 0;
}
