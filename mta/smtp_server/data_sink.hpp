#pragma once
// Spool: where a message body being received is kept until delivery. In memory up to
// `memory_limit` octets, then moved to a temp file in `spool_dir` (created 0700 if
// absent); the file is removed when the Spool is destroyed. Blocking file I/O (small
// appends to a local file); the size cap is the DataReader's job.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace tern::mta {

class Spool {
 public:
  Spool(std::filesystem::path spool_dir, std::size_t memory_limit);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Append octets; false on a file error (disk full): the message must get a 4xx.
  bool append(std::string_view bytes);
  // Flush the file (if any) so that another reader sees every octet; false on error.
  bool finish();
  void clear();  // drop everything (RSET, refused message)

  bool in_file() const { return file_ != nullptr; }
  const std::string& memory() const { return mem_; }  // the body when !in_file()
  const std::filesystem::path& path() const { return path_; }  // the body when in_file()
  const std::filesystem::path& dir() const { return dir_; }    // data_dir/spool
  std::uint64_t size() const { return size_; }
  // The first octets of the message (up to 64 KiB), for header checks.
  const std::string& head() const { return head_; }
  bool failed() const { return failed_; }

 private:
  std::filesystem::path dir_;
  std::size_t memory_limit_;
  std::string mem_;
  std::string head_;
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::uint64_t size_ = 0;
  bool failed_ = false;
};

}  // namespace tern::mta
