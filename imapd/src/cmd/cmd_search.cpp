// SEARCH and UID SEARCH (RFC 9051 §6.4.4; RFC 4731 ESEARCH; RFC 7162 §3.1.5 MODSEQ).
#include <algorithm>

#include "cmd/commands.hpp"
#include "cmd/util.hpp"
#include "search.hpp"
#include "tern/imap/response.hpp"
#include "tern/mime/decode.hpp"

namespace tern::imapd {

// SEARCH strings are matched as UTF-8: a CHARSET argument converts them first (iconv
// through tern::mime); an unknown charset is NO [BADCHARSET] (RFC 9051 §6.4.4).
bool convert_search_charset(imap::SearchKey& k, std::string_view charset) {
  if (charset == "US-ASCII" || charset == "UTF-8") return true;
  using K = imap::SearchKey::Kind;
  std::string* field = nullptr;
  if (k.kind == K::Header) field = &k.b;
  else if (k.kind == K::Body || k.kind == K::Text) field = &k.a;
  if (field) {
    auto u = mime::to_utf8(*field, charset);
    if (!u) return false;
    *field = std::move(*u);
  }
  for (auto& sub : k.sub)
    if (!convert_search_charset(sub, charset)) return false;
  if (!field && k.sub.empty() && !mime::to_utf8("", charset)) return false;
  return true;
}

asio::awaitable<void> cmd_search(Session& s, imap::Command& c) {
  imap::SearchProgram prog;
  std::string err;
  if (!imap::parse_search(c.args, 0, s.svc().nesting(), s.svc().sequence_ranges(), true, prog, err)) {
    s.bad(c, err);
    co_return;
  }
  if (!convert_search_charset(prog.root, prog.charset)) {
    s.no(c, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
    co_return;
  }
  if (prog.uses_modseq) s.enable_condstore();
  if (prog.ret_save) {
    s.no(c, "[CANNOT] SEARCHRES is not supported");
    co_return;
  }
  const MailboxView& v = *s.mailbox;
  SearchContext ctx{s.store(), v};
  ctx.cache = &s.mime_cache;
  std::vector<std::size_t> hits = run_search(ctx, prog.root);
  std::vector<std::uint32_t> ids;
  store::ModSeq maxmod = 0;
  for (std::size_t i : hits) {
    ids.push_back(s.cmd_uid ? v.msgs[i].uid : static_cast<std::uint32_t>(i + 1));
    maxmod = std::max(maxmod, v.msgs[i].modseq);
  }
  std::string out;
  const bool esearch = prog.esearch || s.rev2;
  if (!esearch) {
    out = "SEARCH";
    for (auto id : ids) out += " " + std::to_string(id);
    if (prog.uses_modseq && !ids.empty()) out += " (MODSEQ " + std::to_string(maxmod) + ")";
  } else {
    // RFC 4731 §3.1 / RFC 9051 §7.3.4.
    if (!prog.esearch) prog.ret_all = true;
    out = "ESEARCH (TAG ";
    imap::append_string(out, c.tag);
    out += ")";
    if (s.cmd_uid) out += " UID";
    if (!ids.empty()) {
      if (prog.ret_min) out += " MIN " + std::to_string(ids.front());
      if (prog.ret_max) out += " MAX " + std::to_string(ids.back());
      if (prog.ret_all) out += " ALL " + uid_set_text(ids);
    }
    if (prog.ret_count) out += " COUNT " + std::to_string(ids.size());
    if (prog.uses_modseq && !ids.empty()) {
      // RFC 7162 §3.1.5: with only MIN and/or MAX, the MODSEQ is that of the returned
      // messages, not of the whole result.
      store::ModSeq m = maxmod;
      if (!prog.ret_all && !prog.ret_count) {
        m = 0;
        if (prog.ret_min) m = std::max(m, v.msgs[hits.front()].modseq);
        if (prog.ret_max) m = std::max(m, v.msgs[hits.back()].modseq);
      }
      out += " MODSEQ " + std::to_string(m);
    }
  }
  s.untagged(out);
  s.sync_mailbox(s.cmd_uid);
  s.ok(c, s.cmd_uid ? "UID SEARCH completed" : "SEARCH completed");
}

}  // namespace tern::imapd
