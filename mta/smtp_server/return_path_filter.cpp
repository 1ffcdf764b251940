#include "return_path_filter.hpp"

#include <cctype>

namespace tern::mta {

namespace {

// `name` WSP* ":" at the start of a line (RFC 5322 §3.6.7; obs-optional WSP before the
// colon, §4.5.3), case-insensitively; `name` in lower case.
bool is_field(std::string_view l, std::string_view name) {
  if (l.size() < name.size() + 1) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(l[i])) != name[i]) return false;
  std::size_t i = name.size();
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  return i < l.size() && l[i] == ':';
}

}  // namespace

void ReturnPathFilter::end_line(std::string& out) {
  // line_ holds one whole header line with its CRLF.
  const bool blank = line_ == "\r\n" || line_ == "\n";
  const bool continuation = !line_.empty() && (line_[0] == ' ' || line_[0] == '\t');
  if (blank) {
    in_body_ = true;
    out += line_;
  } else if (continuation && dropping_) {
    // part of the dropped field
  } else if (is_field(line_, "return-path")) {
    dropping_ = true;
    ++removed_;
  } else {
    dropping_ = false;
    if (is_field(line_, "received")) ++received_;
    out += line_;
  }
  line_.clear();
}

void ReturnPathFilter::feed(std::string_view in, std::string& out) {
  while (!in.empty()) {
    if (in_body_) {
      out.append(in);
      return;
    }
    auto lf = in.find('\n');
    std::string_view piece = in.substr(0, lf == std::string_view::npos ? in.size() : lf + 1);
    in.remove_prefix(piece.size());
    if (passthrough_) {
      out.append(piece);
      if (piece.back() == '\n') passthrough_ = false;
      continue;
    }
    line_.append(piece);
    if (line_.back() == '\n') {
      end_line(out);
    } else if (line_.size() > kMaxLine) {
      // Not a header line we need to look at whole: a Return-Path line is short.
      dropping_ = false;
      out += line_;
      line_.clear();
      passthrough_ = true;
    }
  }
}

void ReturnPathFilter::finish(std::string& out) {
  if (line_.empty() || in_body_ || passthrough_) return;
  line_ += "\r\n";  // judged as a whole line; the CRLF is not ours to add
  const std::size_t before = out.size();
  end_line(out);
  if (out.size() > before) out.resize(out.size() - 2);
}

}  // namespace tern::mta
