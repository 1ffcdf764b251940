#include "data_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

namespace tern::mta {

namespace {
constexpr std::size_t kHeadMax = 64 * 1024;
}

Spool::Spool(std::filesystem::path spool_dir, std::size_t memory_limit)
    : dir_(std::move(spool_dir)), memory_limit_(memory_limit) {}

Spool::~Spool() { clear(); }

void Spool::clear() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  path_.clear();
  mem_.clear();
  head_.clear();
  size_ = 0;
  failed_ = false;
}

bool Spool::append(std::string_view bytes) {
  if (failed_) return false;
  if (head_.size() < kHeadMax) head_.append(bytes.substr(0, kHeadMax - head_.size()));
  size_ += bytes.size();
  if (!file_ && mem_.size() + bytes.size() <= memory_limit_) {
    mem_.append(bytes);
    return true;
  }
  if (!file_) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    ::chmod(dir_.c_str(), 0700);
    std::string tmpl = (dir_ / "msg-XXXXXX").string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
      failed_ = true;
      return false;
    }
    file_ = ::fdopen(fd, "w+b");
    if (!file_) {
      ::close(fd);
      ::unlink(tmpl.c_str());
      failed_ = true;
      return false;
    }
    path_ = tmpl;
    if (!mem_.empty() && std::fwrite(mem_.data(), 1, mem_.size(), file_) != mem_.size()) failed_ = true;
    mem_.clear();
    mem_.shrink_to_fit();
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) failed_ = true;
  return !failed_;
}

bool Spool::finish() {
  if (file_ && std::fflush(file_) != 0) failed_ = true;
  return !failed_;
}

}  // namespace tern::mta
