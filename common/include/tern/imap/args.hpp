#pragma once
// Typed readings of IMAP command arguments (RFC 9051 §9 grammar): sequence sets,
// flag lists, dates, FETCH attributes and SEARCH programs. Pure, bounded, and fuzzed
// with the command reader (tests/fuzz/fuzz_imap_command.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/imap/command.hpp"

namespace tern::imap {

// ------------------------------------------------------------------ sequence sets
// A range of message numbers or UIDs; 0 stands for "*" (the largest in use).
struct SeqRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;
};

struct SequenceSet {
  std::vector<SeqRange> ranges;  // as sent
  // Sorted, merged, '*' replaced by `star`. A range "n:*" with n > star becomes
  // star:star when star > 0 (RFC 9051 §6.4.8 "the largest number in use"); with an
  // empty mailbox (star = 0) a set that mentions '*' is empty.
  std::vector<SeqRange> resolve(std::uint32_t star) const;
};

// RFC 9051 sequence-set: "1", "2:4", "*", "5:*", comma-separated. At most
// `max_ranges` ranges; numbers 1..4294967295. False when malformed or over the cap.
bool parse_sequence_set(std::string_view s, std::size_t max_ranges, SequenceSet& out);
// Membership in a resolved (sorted, merged) range list: O(log n).
bool in_ranges(const std::vector<SeqRange>& resolved, std::uint32_t v);

// ------------------------------------------------------------------ flags, dates
// "\Seen" etc. map to bits (see store Flag); other atoms are keywords. \Recent is
// accepted and ignored (IMAP4rev2 dropped it). False for a bad flag (e.g. "\Foo" in
// STORE, or an atom with bad characters).
struct FlagList {
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
};
// Keywords in one flag list (false beyond): a mailbox keeps at most this many.
inline constexpr std::size_t kMaxFlagKeywords = 1000;
bool parse_flag(std::string_view atom, FlagList& out);
bool parse_flag_list(const Arg& arg, FlagList& out);  // "(\Seen $Work)" or a single flag
// RFC 9051 date: "1-Feb-2024" / "01-Feb-2024" (atom or quoted) → unix time of 00:00 UTC.
std::optional<long long> parse_date(std::string_view s);
// RFC 9051 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (space-padded day allowed).
std::optional<long long> parse_date_time(std::string_view s);

// ------------------------------------------------------------------ FETCH
struct Section {
  std::vector<std::uint32_t> part;  // "1.2.3" → {1,2,3}; empty = the whole message
  enum class Spec { None, Header, HeaderFields, HeaderFieldsNot, Text, Mime };
  Spec spec = Spec::None;
  std::vector<std::string> fields;  // HEADER.FIELDS (.NOT), upper-cased
  std::string text;                 // the section as sent between [ and ], canonical case
};

struct FetchAtt {
  enum class Kind {
    Flags, Uid, InternalDate, Rfc822Size, Envelope, BodyStructure, Body /* no section */,
    BodySection, Rfc822, Rfc822Header, Rfc822Text, Binary, BinarySize, ModSeq, SaveDate,
    EmailId, ThreadId
  };
  Kind kind = Kind::Flags;
  bool peek = false;                 // BODY.PEEK / BINARY.PEEK
  Section section;                   // BodySection, Binary, BinarySize
  std::optional<std::uint64_t> partial_offset, partial_length;  // <o.n>
};

struct FetchRequest {
  std::vector<FetchAtt> atts;
  bool changedsince = false;           // RFC 7162 CHANGEDSINCE modifier
  std::uint64_t changedsince_modseq = 0;
  bool vanished = false;               // RFC 7162 VANISHED (UID FETCH only)
};

// args: [sequence-set already taken] the attribute (atom or list) and optional
// modifiers list. False + error on a bad attribute.
bool parse_fetch(const std::vector<Arg>& args, std::size_t first, FetchRequest& out,
                 std::string& error);
// The name a FETCH response uses for a section attribute: "BODY[1.HEADER]<0>".
std::string fetch_att_name(const FetchAtt& a);

// ------------------------------------------------------------------ SEARCH
struct SearchKey {
  enum class Kind {
    All, Answered, Deleted, Draft, Flagged, Seen, Unanswered, Undeleted, Undraft,
    Unflagged, Unseen, New, Old, Recent, Keyword, Unkeyword,
    Before, On, Since, SentBefore, SentOn, SentSince, Larger, Smaller,
    Header, Body, Text, Uid, SeqSet, Not, Or, And, ModSeq, Older, Younger,
    Filter  // unknown: never (not produced)
  };
  Kind kind = Kind::All;
  std::string a, b;          // Keyword; Header (a = field, b = value); Body/Text (a)
  std::uint64_t n = 0;       // Larger/Smaller/ModSeq/Older/Younger; dates (unix time)
  SequenceSet set;           // Uid/SeqSet
  std::vector<SearchKey> sub;  // Not (1), Or (2), And (n)
};

struct SearchProgram {
  // ESEARCH RETURN options (RFC 4731): none given and no RETURN → classic SEARCH.
  bool esearch = false;
  bool ret_min = false, ret_max = false, ret_all = false, ret_count = false, ret_save = false;
  std::string charset = "US-ASCII";  // CHARSET given, upper-cased
  SearchKey root;                    // an And of the keys
  bool uses_modseq = false;          // MODSEQ criterion present (CONDSTORE)
};

// SEARCH [RETURN (...)] [CHARSET x] keys. `nesting_max` bounds NOT/OR/() depth.
bool parse_search(const std::vector<Arg>& args, std::size_t first, std::size_t nesting_max,
                  std::size_t max_ranges, bool allow_return, SearchProgram& out,
                  std::string& error);
// Parses search keys alone (SORT and THREAD take a charset of their own first).
bool parse_search_keys(const std::vector<Arg>& args, std::size_t first, std::size_t nesting_max,
                       std::size_t max_ranges, SearchKey& out, bool& uses_modseq,
                       std::string& error);

}  // namespace tern::imap
