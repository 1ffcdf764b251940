#include "search.hpp"

#include <cctype>
#include <optional>
#include <unordered_map>

#include "message_content.hpp"

namespace tern::imapd {

namespace {

// Sequence sets resolved once per SEARCH, not once per message.
using SetCache = std::unordered_map<const imap::SearchKey*, std::vector<imap::SeqRange>>;

class Evaluator {
 public:
  Evaluator(const SearchContext& ctx, std::size_t index, SetCache& cache)
      : ctx_(ctx), i_(index), m_(ctx.view.msgs[index]), cache_(cache) {}

  bool eval(const imap::SearchKey& k) {
    using K = imap::SearchKey::Kind;
    const std::uint32_t f = m_.flags;
    switch (k.kind) {
      case K::All: return true;
      case K::Answered: return f & store::kAnswered;
      case K::Deleted: return f & store::kDeleted;
      case K::Draft: return f & store::kDraft;
      case K::Flagged: return f & store::kFlagged;
      case K::Seen: return f & store::kSeen;
      case K::Unanswered: return !(f & store::kAnswered);
      case K::Undeleted: return !(f & store::kDeleted);
      case K::Undraft: return !(f & store::kDraft);
      case K::Unflagged: return !(f & store::kFlagged);
      case K::Unseen: return !(f & store::kSeen);
      // \Recent as this session sees it (MailboxView; none for IMAP4rev2 sessions).
      case K::New: return m_.recent && !(f & store::kSeen);
      case K::Recent: return m_.recent;
      case K::Old: return !m_.recent;
      case K::Keyword: return has_keyword(k.a);
      case K::Unkeyword: return !has_keyword(k.a);
      case K::Before: return day(m_.internal_date) < static_cast<long long>(k.n);
      case K::On: return day(m_.internal_date) == static_cast<long long>(k.n);
      case K::Since: return day(m_.internal_date) >= static_cast<long long>(k.n);
      case K::SentBefore: return sent_day() < static_cast<long long>(k.n);
      case K::SentOn: return sent_day() == static_cast<long long>(k.n);
      case K::SentSince: return sent_day() >= static_cast<long long>(k.n);
      case K::Larger: return m_.size > k.n;
      case K::Smaller: return m_.size < k.n;
      case K::Older: return ctx_.now - m_.internal_date >= static_cast<long long>(k.n);
      case K::Younger: return ctx_.now - m_.internal_date <= static_cast<long long>(k.n);
      case K::ModSeq: return m_.modseq >= k.n;
      case K::Uid: return imap::in_ranges(resolved(k, true), m_.uid);
      case K::SeqSet: return imap::in_ranges(resolved(k, false), static_cast<std::uint32_t>(i_ + 1));
      case K::Header: return content() && content()->header_contains(k.a, k.b);
      case K::Body: return content() && content()->body_contains(k.a);
      case K::Text: return content() && content()->text_contains(k.a);
      case K::Not: return !eval(k.sub[0]);
      case K::Or: return eval(k.sub[0]) || eval(k.sub[1]);
      case K::And:
        for (const auto& s : k.sub)
          if (!eval(s)) return false;
        return true;
      case K::Filter: return false;
    }
    return false;
  }

 private:
  static long long day(long long t) { return t >= 0 ? t / 86400 * 86400 : (t - 86399) / 86400 * 86400; }

  long long sent_day() {
    if (!content()) return day(m_.internal_date);
    return day(content()->sent_local_date(m_.internal_date));
  }

  bool has_keyword(const std::string& kw) const {
    std::string_view ks = ctx_.view.keywords_of(m_);
    while (!ks.empty()) {
      std::size_t sp = ks.find(' ');
      std::string_view k = ks.substr(0, sp);
      if (k.size() == kw.size()) {
        bool eq = true;
        for (std::size_t j = 0; j < k.size() && eq; ++j)
          eq = std::tolower(static_cast<unsigned char>(k[j])) == std::tolower(static_cast<unsigned char>(kw[j]));
        if (eq) return true;
      }
      if (sp == std::string_view::npos) break;
      ks.remove_prefix(sp + 1);
    }
    return false;
  }

  const std::vector<imap::SeqRange>& resolved(const imap::SearchKey& k, bool uid) {
    auto it = cache_.find(&k);
    if (it == cache_.end())
      it = cache_.emplace(&k, k.set.resolve(uid ? ctx_.view.max_uid() : ctx_.view.exists())).first;
    return it->second;
  }

  const MessageContent* content() {
    if (!loaded_) {
      loaded_ = true;
      mc_ = MessageContent::load(ctx_.store, ctx_.view.info.id, m_.uid, ctx_.cache);
    }
    return mc_ ? &*mc_ : nullptr;
  }

  const SearchContext& ctx_;
  std::size_t i_;
  const ViewMsg& m_;
  SetCache& cache_;
  bool loaded_ = false;
  std::optional<MessageContent> mc_;
};

}  // namespace

std::vector<std::size_t> run_search(const SearchContext& ctx, const imap::SearchKey& key) {
  std::vector<std::size_t> r;
  SetCache cache;
  for (std::size_t i = 0; i < ctx.view.msgs.size(); ++i) {
    if (ctx.view.msgs[i].expunged) continue;
    Evaluator e(ctx, i, cache);
    if (e.eval(key)) r.push_back(i);
  }
  return r;
}

}  // namespace tern::imapd
