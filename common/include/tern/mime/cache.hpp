#pragma once
// The parsed structure of a stored body, kept beside the blob so repeated FETCH and
// SEARCH do not parse again (Store::put_blob_meta / get_blob_meta hold the bytes).
//
//   // first time (whole message in hand):
//   auto c = tern::mime::build_cached(msg);
//   store.put_blob_meta({{blob, tern::mime::serialize(c)}});   // batch them per command
//   // later, without reading the body:
//   auto c = tern::mime::deserialize(*store.get_blob_meta(blob));
//   c->envelope, c->body_structure, c->body   // FETCH ENVELOPE/BODYSTRUCTURE/BODY
//   c->message.root.body_begin ...            // offsets for BODY[n] via read_message_range
//
// The format is versioned; deserialize() returns nullopt for another version or for
// damaged bytes (then parse again and overwrite). Bounded: depth and part count are
// checked while reading, as when parsing.
#include <optional>
#include <string>
#include <string_view>

#include "tern/mime/message.hpp"

namespace tern::mime {

struct CachedStructure {
  std::uint64_t message_size = 0;  // octets of the message it describes (every offset is <= it)
  Message message;             // the tree with the header index (offsets)
  std::string envelope;        // ENVELOPE wire text
  std::string body_structure;  // BODYSTRUCTURE wire text
  std::string body;            // BODY wire text
};

// 2: ENVELOPE Sender/Reply-To fall back to From when the field gives no address (the
//    envelopes cached by version 1 are answered anew).
inline constexpr std::uint8_t kCacheVersion = 2;
// Larger serialized structures are not worth caching (a hostile message with 10,000
// parts): callers parse those each time.
inline constexpr std::size_t kMaxCachedBytes = 1 << 20;

CachedStructure build_cached(std::string_view msg, const Limits& limits = {});
std::string serialize(const CachedStructure& c);
std::optional<CachedStructure> deserialize(std::string_view bytes, const Limits& limits = {});

}  // namespace tern::mime
