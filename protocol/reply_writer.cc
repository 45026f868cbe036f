#include "protocol/reply_writer.h"

#include <algorithm>
#include <cstring>

#include "common/numbers.h"

namespace understudy::protocol {

void ReplyWriter::Error(std::string_view text) {
  if (error_count_ != nullptr) ++*error_count_;
  out_->push_back('-');
  size_t start = out_->size();
  out_->append(text);
  // An error line must stay one line; Redis turns stray newlines into spaces.
  std::replace_if(
      out_->begin() + start, out_->end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out_->append("\r\n", 2);
}

void ReplyWriter::Bulk(std::string_view data) {
  // A short bulk (most values) is composed on the stack and appended once:
  // each append re-checks and may grow the buffer, and three of them were
  // a noticeable part of a GET or LPOP.
  constexpr size_t kShortBulk = 99;  // at most two length digits
  if (data.size() <= kShortBulk) {
    char buf[kShortBulk + 8];
    char* p = buf;
    *p++ = '$';
    if (data.size() >= 10) *p++ = static_cast<char>('0' + data.size() / 10);
    *p++ = static_cast<char>('0' + data.size() % 10);
    *p++ = '\r';
    *p++ = '\n';
    if (!data.empty()) std::memcpy(p, data.data(), data.size());
    p += data.size();
    *p++ = '\r';
    *p++ = '\n';
    out_->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  Prefixed('$', static_cast<int64_t>(data.size()));
  out_->append(data);
  out_->append("\r\n", 2);
}

void ReplyWriter::Double(double value) {
  std::string text = FormatDouble(value);
  if (resp3()) {
    Line(',', text);
  } else {
    Bulk(text);
  }
}

void ReplyWriter::Verbatim(std::string_view text, std::string_view format) {
  if (!resp3()) {
    Bulk(text);
    return;
  }
  Prefixed('=', static_cast<int64_t>(text.size() + format.size() + 1));
  out_->append(format);
  out_->push_back(':');
  out_->append(text);
  out_->append("\r\n", 2);
}

void ReplyWriter::InsertHeader(size_t mark, char prefix, int64_t count) {
  char buf[24];
  buf[0] = prefix;
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, count).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out_->insert(mark, buf, end - buf);
}

}  // namespace understudy::protocol
