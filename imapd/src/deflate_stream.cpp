#include "deflate_stream.hpp"

namespace tern::imapd {

DeflateStream::DeflateStream() {
  // windowBits -15: raw deflate (RFC 4978 §3).
  bool d = deflateInit2(&def_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  bool i = inflateInit2(&inf_, -15) == Z_OK;
  ok_ = d && i;
}

DeflateStream::~DeflateStream() {
  deflateEnd(&def_);
  inflateEnd(&inf_);
}

void DeflateStream::compress(std::string_view in, bool full, std::string& out) {
  def_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  def_.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  do {
    def_.next_out = reinterpret_cast<Bytef*>(buf);
    def_.avail_out = sizeof buf;
    deflate(&def_, full ? Z_FULL_FLUSH : Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - def_.avail_out);
  } while (def_.avail_out == 0);
}

bool DeflateStream::decompress(std::string_view in, std::string& out, std::size_t max_out) {
  inf_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  inf_.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  while (inf_.avail_in > 0) {
    inf_.next_out = reinterpret_cast<Bytef*>(buf);
    inf_.avail_out = sizeof buf;
    int r = inflate(&inf_, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) return false;
    out.append(buf, sizeof buf - inf_.avail_out);
    if (out.size() > max_out) return false;
    if (r == Z_BUF_ERROR && inf_.avail_out != 0) break;
    if (r == Z_STREAM_END) break;
  }
  return true;
}

}  // namespace tern::imapd
