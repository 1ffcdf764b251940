// libFuzzer target: the IMAP command reader and the argument parsers. The input is
// fed in pieces (split points from the first byte); every complete command goes
// through parse_fetch / parse_search / parse_sequence_set / flags / dates, and the
// LIST matcher gets a pattern from the input. Checks: no crash, no unbounded work.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tern/imap/args.hpp"
#include "tern/imap/command.hpp"
#include "tern/imap/list_match.hpp"
#include "tern/imap/response.hpp"

using namespace tern::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t step = (data[0] % 17) + 1;
  ParserLimits l;
  l.line_max = 4096;
  l.literal_max = 8192;
  l.nesting_max = 8;
  l.literal_minus = data[0] & 0x80;
  CommandParser p(l);
  for (std::size_t pos = 0; pos < in.size(); pos += step) {
    p.feed(in.substr(pos, step));
    for (;;) {
      ParseEvent e = p.next();
      if (e.kind == ParseEvent::Kind::NeedMore) break;
      if (e.kind == ParseEvent::Kind::Fatal) return 0;
      if (e.kind != ParseEvent::Kind::Command) continue;
      const Command& c = e.command;
      if (!valid_tag(c.tag)) std::abort();
      std::string err;
      FetchRequest f;
      if (c.args.size() > 1) (void)parse_fetch(c.args, 1, f, err);
      for (const auto& a : f.atts) (void)fetch_att_name(a);
      SearchProgram sp;
      (void)parse_search(c.args, 0, 8, 100, true, sp, err);
      SequenceSet ss;
      if (!c.args.empty() && parse_sequence_set(c.args[0].text, 100, ss)) (void)ss.resolve(10);
      for (const auto& a : c.args) {
        FlagList fl;
        (void)parse_flag_list(a, fl);
        (void)parse_date_time(a.text);
        std::string out;
        append_astring(out, a.text);
        if (a.text.size() < 256) (void)list_match(a.text, "INBOX/a/b%c*d/eeeeeeee");
      }
    }
  }
  return 0;
}
