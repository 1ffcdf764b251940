#pragma once
// DeflateStream: the two raw-deflate streams of RFC 4978 COMPRESS=DEFLATE (no zlib
// header, RFC 1951), one per direction. zlib does the work; this only holds the state.
#include <string>
#include <string_view>
#include <zlib.h>

namespace tern::imapd {

class DeflateStream {
 public:
  DeflateStream();
  ~DeflateStream();
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;
  bool ok() const { return ok_; }

  // Compresses `in` and appends to out. `full`: Z_FULL_FLUSH (RFC 4978 §4 suggests a
  // full flush at the end of each tagged response, so a resumed decompressor needs no
  // history); else Z_SYNC_FLUSH (everything so far is decodable).
  void compress(std::string_view in, bool full, std::string& out);
  // Decompresses `in` and appends to out; false on a corrupt stream or when the
  // output would exceed `max_out` octets.
  bool decompress(std::string_view in, std::string& out, std::size_t max_out);

 private:
  z_stream def_{};
  z_stream inf_{};
  bool ok_ = false;
};

}  // namespace tern::imapd
