// SORT and THREAD, UID SORT and UID THREAD (RFC 5256): the messages are picked by the
// SEARCH engine, then ordered (SORT) or threaded (THREAD=REFERENCES, ORDEREDSUBJECT)
// with tern::mime's base subject, sent date and bounded threading.
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "message_content.hpp"
#include "search.hpp"
#include "tern/mime/address.hpp"
#include "tern/mime/decode.hpp"
#include "tern/mime/thread.hpp"

namespace tern::imapd {

bool convert_search_charset(imap::SearchKey& k, std::string_view charset);

namespace {

enum class SortKey { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo };

struct Criterion {
  SortKey key;
  bool reverse = false;
};

bool parse_criteria(const imap::Arg& a, std::vector<Criterion>& out) {
  if (!a.is_list() || a.list.empty()) return false;
  bool rev = false;
  for (const auto& x : a.list) {
    if (x.is("REVERSE")) {
      if (rev) return false;
      rev = true;
      continue;
    }
    SortKey k;
    if (x.is("ARRIVAL")) k = SortKey::Arrival;
    else if (x.is("CC")) k = SortKey::Cc;
    else if (x.is("DATE")) k = SortKey::Date;
    else if (x.is("FROM")) k = SortKey::From;
    else if (x.is("SIZE")) k = SortKey::Size;
    else if (x.is("SUBJECT")) k = SortKey::Subject;
    else if (x.is("TO")) k = SortKey::To;
    else if (x.is("DISPLAYFROM")) k = SortKey::DisplayFrom;
    else if (x.is("DISPLAYTO")) k = SortKey::DisplayTo;
    else return false;
    out.push_back({k, rev});
    rev = false;
  }
  return !rev;
}

struct SortRow {
  std::size_t index = 0;
  std::int64_t arrival = 0, date = 0;
  std::uint64_t size = 0;
  std::string cc, from, to, subject, display_from, display_to;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// RFC 5256 §3: the addr-mailbox of the first address, lower-cased (for comparison).
std::string first_mailbox(const MessageContent& mc, std::string_view field, bool display) {
  auto v = mc.message().root.header(mc.header_bytes(), field);
  if (!v) return "";
  auto list = mime::parse_address_list(*v, 16);
  for (const auto& a : list) {
    if (a.kind != mime::Address::Kind::mailbox) continue;
    // RFC 5957 DISPLAYFROM: the display name if any, else the address.
    if (display && a.name) return mime::fold_case(mime::decode_header_value(*a.name));
    return lower(a.mailbox);
  }
  return "";
}

}  // namespace

asio::awaitable<void> cmd_sort(Session& s, imap::Command& c) {
  const bool thread = c.name == "THREAD";
  std::vector<Criterion> crit;
  std::string algorithm;
  if (c.args.size() < 3 || !c.args[1].is_astring()) {
    s.bad(c, thread ? "THREAD needs an algorithm, a charset and search keys"
                    : "SORT needs criteria, a charset and search keys");
    co_return;
  }
  if (thread) {
    if (c.args[0].is("REFERENCES")) algorithm = "REFERENCES";
    else if (c.args[0].is("ORDEREDSUBJECT")) algorithm = "ORDEREDSUBJECT";
    else {
      s.bad(c, "unknown THREAD algorithm");
      co_return;
    }
  } else if (!parse_criteria(c.args[0], crit)) {
    s.bad(c, "bad SORT criteria");
    co_return;
  }
  std::string charset = c.args[1].text;
  for (auto& ch : charset) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  imap::SearchKey key;
  bool uses_modseq = false;
  std::string err;
  if (!imap::parse_search_keys(c.args, 2, s.svc().nesting(), s.svc().sequence_ranges(), key,
                               uses_modseq, err)) {
    s.bad(c, err);
    co_return;
  }
  if (!convert_search_charset(key, charset)) {
    s.no(c, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
    co_return;
  }
  if (uses_modseq) s.enable_condstore();
  const MailboxView& v = *s.mailbox;
  SearchContext ctx{s.store(), v};
  ctx.cache = &s.mime_cache;
  std::vector<std::size_t> hits = run_search(ctx, key);
  auto id_of = [&](std::size_t i) {
    return s.cmd_uid ? v.msgs[i].uid : static_cast<std::uint32_t>(i + 1);
  };
  std::string out;
  if (thread) {
    std::vector<mime::ThreadMessage> tm;
    tm.reserve(hits.size());
    for (std::size_t i : hits) {
      auto mc = MessageContent::load(s.store(), v.info.id, v.msgs[i].uid, &s.mime_cache);
      if (!mc) continue;
      tm.push_back(mime::thread_message(mc->header_bytes(), mc->message().root, id_of(i), v.msgs[i].internal_date));
    }
    out = "THREAD ";
    out += algorithm == "REFERENCES" ? mime::thread_references(tm) : mime::thread_orderedsubject(tm);
    if (out.back() == ' ') out.pop_back();
  } else {
    bool need_content = false;
    for (const auto& k : crit) need_content |= k.key != SortKey::Arrival && k.key != SortKey::Size;
    std::vector<SortRow> rows;
    rows.reserve(hits.size());
    for (std::size_t i : hits) {
      SortRow r;
      r.index = i;
      r.arrival = v.msgs[i].internal_date;
      r.size = v.msgs[i].size;
      r.date = r.arrival;
      if (need_content) {
        auto mc = MessageContent::load(s.store(), v.info.id, v.msgs[i].uid, &s.mime_cache);
        if (mc) {
          r.date = mime::sent_date(mc->header_bytes(), mc->message().root, r.arrival);
          auto subj = mc->message().root.header(mc->header_bytes(), "Subject");
          r.subject = subj ? mime::base_subject(*subj) : "";
          r.from = first_mailbox(*mc, "From", false);
          r.to = first_mailbox(*mc, "To", false);
          r.cc = first_mailbox(*mc, "Cc", false);
          r.display_from = first_mailbox(*mc, "From", true);
          r.display_to = first_mailbox(*mc, "To", true);
        }
      }
      rows.push_back(std::move(r));
    }
    auto cmp = [&](const SortRow& a, const SortRow& b) {
      for (const auto& k : crit) {
        int d = 0;
        switch (k.key) {
          case SortKey::Arrival: d = a.arrival < b.arrival ? -1 : a.arrival > b.arrival; break;
          case SortKey::Date: d = a.date < b.date ? -1 : a.date > b.date; break;
          case SortKey::Size: d = a.size < b.size ? -1 : a.size > b.size; break;
          case SortKey::Cc: d = a.cc.compare(b.cc); break;
          case SortKey::From: d = a.from.compare(b.from); break;
          case SortKey::To: d = a.to.compare(b.to); break;
          case SortKey::Subject: d = a.subject.compare(b.subject); break;
          case SortKey::DisplayFrom: d = a.display_from.compare(b.display_from); break;
          case SortKey::DisplayTo: d = a.display_to.compare(b.display_to); break;
        }
        if (d != 0) return k.reverse ? d > 0 : d < 0;
      }
      return a.index < b.index;  // RFC 5256 §3: ties by sequence number
    };
    std::sort(rows.begin(), rows.end(), cmp);
    out = "SORT";
    for (const auto& r : rows) out += " " + std::to_string(id_of(r.index));
  }
  s.untagged(out);
  s.sync_mailbox(s.cmd_uid);
  s.ok(c, std::string(s.cmd_uid ? "UID " : "") + (thread ? "THREAD completed" : "SORT completed"));
}

}  // namespace tern::imapd
