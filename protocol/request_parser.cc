#include "protocol/request_parser.h"

#include <cstring>

#include "common/numbers.h"

namespace understudy::protocol {
namespace {

// Length fields follow Redis's string2ll rules, as every integer argument
// does (common/numbers.h).
bool ParseLength(const char* p, size_t len, int64_t* out) {
  return ParseInt64(std::string_view(p, len), out);
}

// Reads the length field of a header line "<prefix><digits>\r\n" that
// starts at `line` (`available` bytes), when it is written the way every
// client writes it: 1 to 9 digits, no sign, no leading zero. Sets *value and
// *cr_offset (the offset of the '\r'; the '\n' is known to be there too).
// False for anything else, incomplete lines included: the general path
// (memchr, ParseLength) then decides, with its error messages. This saves
// a memchr and a ParseInt64 call per header, about a fifth of parsing.
inline bool ReadShortLength(const char* line, size_t available, int64_t* value, size_t* cr_offset) {
  constexpr size_t kMaxDigits = 9;
  if (available < 4) return false;
  unsigned digit = static_cast<unsigned char>(line[1]) - '0';
  if (digit > 9) return false;
  int64_t result = digit;
  size_t i = 2;
  if (digit != 0) {
    while (i < available && i <= kMaxDigits &&
           (digit = static_cast<unsigned char>(line[i]) - '0') <= 9) {
      result = result * 10 + digit;
      ++i;
    }
  }
  if (i + 1 >= available || line[i] != '\r') return false;
  *value = result;
  *cr_offset = i;
  return true;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}

}  // namespace

void RequestParser::Reset() {
  in_multibulk_ = false;
  args_expected_ = 0;
  position_ = 0;
  arg_spans_.clear();
  bytes_wanted_ = 0;
}

ParseStatus RequestParser::Fail(std::string message) {
  Reset();
  // error() is the whole reply text; Redis sends these with the ERR code.
  error_ = "ERR " + message;
  return ParseStatus::kError;
}

ParseStatus RequestParser::Complete(size_t consumed) {
  consumed_ = consumed;
  in_multibulk_ = false;
  position_ = 0;
  bytes_wanted_ = 0;
  return args_.empty() ? ParseStatus::kEmpty : ParseStatus::kCommand;
}

ParseStatus RequestParser::Parse(std::string_view data, bool authenticated) {
  args_.clear();
  consumed_ = 0;
  // Set again below only if this call stops inside a bulk's data.
  bytes_wanted_ = 0;
  if (!in_multibulk_) {
    if (data.empty()) return ParseStatus::kNeedMore;
    if (data[0] != '*') return ParseInline(data);
  }
  return ParseMultibulk(data, authenticated);
}

ParseStatus RequestParser::ParseInline(std::string_view data) {
  const char* start = data.data();
  const void* newline = std::memchr(start, '\n', data.size());
  if (newline == nullptr) {
    if (data.size() > limits_.max_inline_len) {
      return Fail("Protocol error: too big inline request");
    }
    return ParseStatus::kNeedMore;
  }
  size_t line_end = static_cast<const char*>(newline) - start;
  size_t consumed = line_end + 1;
  if (line_end > 0 && start[line_end - 1] == '\r') --line_end;
  if (!SplitInlineArgs(std::string_view(start, line_end), &inline_args_)) {
    return Fail("Protocol error: unbalanced quotes in request");
  }
  for (const std::string& arg : inline_args_) args_.emplace_back(arg);
  return Complete(consumed);
}

ParseStatus RequestParser::ParseMultibulk(std::string_view data, bool authenticated) {
  const char* base = data.data();
  const size_t size = data.size();

  if (!in_multibulk_) {
    // "*<count>\r\n"
    int64_t count = 0;
    size_t cr_pos = 0;
    if (!ReadShortLength(base, size, &count, &cr_pos)) {
      const void* cr = std::memchr(base, '\r', size);
      if (cr == nullptr) {
        if (size > limits_.max_inline_len) {
          return Fail("Protocol error: too big mbulk count string");
        }
        return ParseStatus::kNeedMore;
      }
      cr_pos = static_cast<const char*>(cr) - base;
      if (cr_pos + 2 > size) return ParseStatus::kNeedMore;  // wait for the '\n'
      if (!ParseLength(base + 1, cr_pos - 1, &count)) {
        return Fail("Protocol error: invalid multibulk length");
      }
    }
    if (count > limits_.max_multibulk_len) {
      return Fail("Protocol error: invalid multibulk length");
    }
    if (!authenticated && count > limits_.unauth_max_multibulk_len) {
      return Fail("Protocol error: unauthenticated multibulk length");
    }
    if (count <= 0) return Complete(cr_pos + 2);
    in_multibulk_ = true;
    args_expected_ = count;
    position_ = cr_pos + 2;
    arg_spans_.clear();
    arg_spans_.reserve(count < 1024 ? count : 1024);
  }

  while (static_cast<int64_t>(arg_spans_.size()) < args_expected_) {
    // "$<len>\r\n<bytes>\r\n"
    size_t remaining = size - position_;
    if (remaining == 0) return ParseStatus::kNeedMore;
    const char* line = base + position_;
    int64_t bulk_len = 0;
    size_t line_len = 0;
    if (line[0] != '$' || !ReadShortLength(line, remaining, &bulk_len, &line_len)) {
      const void* cr = std::memchr(line, '\r', remaining);
      if (cr == nullptr) {
        if (remaining > limits_.max_inline_len) {
          return Fail("Protocol error: too big bulk count string");
        }
        return ParseStatus::kNeedMore;
      }
      line_len = static_cast<const char*>(cr) - line;
      if (line_len + 2 > remaining) return ParseStatus::kNeedMore;
      if (line[0] != '$') {
        return Fail(std::string("Protocol error: expected '$', got '") + line[0] + "'");
      }
      if (!ParseLength(line + 1, line_len - 1, &bulk_len) || bulk_len < 0) {
        return Fail("Protocol error: invalid bulk length");
      }
    }
    if (bulk_len > limits_.max_bulk_len) {
      return Fail("Protocol error: invalid bulk length");
    }
    if (!authenticated && bulk_len > limits_.unauth_max_bulk_len) {
      return Fail("Protocol error: unauthenticated bulk length");
    }
    size_t data_start = position_ + line_len + 2;
    // Like Redis, the two bytes after the data are skipped, not checked.
    size_t needed = data_start + static_cast<size_t>(bulk_len) + 2;
    if (needed > size) {
      bytes_wanted_ = needed;
      return ParseStatus::kNeedMore;
    }
    arg_spans_.emplace_back(data_start, static_cast<size_t>(bulk_len));
    position_ = needed;
  }

  args_.reserve(arg_spans_.size());
  for (const auto& [offset, length] : arg_spans_) args_.emplace_back(base + offset, length);
  arg_spans_.clear();
  return Complete(position_);
}

bool SplitInlineArgs(std::string_view line, std::vector<std::string>* out) {
  out->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    while (i < n && IsSpace(line[i])) ++i;
    if (i >= n) return true;
    std::string current;
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      if (in_double) {
        if (i >= n) return false;  // unterminated quotes
        if (line[i] == '\\' && i + 3 < n && line[i + 1] == 'x' && IsHexDigit(line[i + 2]) &&
            IsHexDigit(line[i + 3])) {
          current.push_back(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 3;
        } else if (line[i] == '\\' && i + 1 < n) {
          ++i;
          char c = line[i];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          current.push_back(c);
        } else if (line[i] == '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else if (in_single) {
        if (i >= n) return false;
        if (line[i] == '\\' && i + 1 < n && line[i + 1] == '\'') {
          ++i;
          current.push_back('\'');
        } else if (line[i] == '\'') {
          if (i + 1 < n && !IsSpace(line[i + 1])) return false;
          done = true;
        } else {
          current.push_back(line[i]);
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        switch (line[i]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            current.push_back(line[i]);
            break;
        }
      }
      if (i < n) ++i;
    }
    out->push_back(std::move(current));
  }
}

}  // namespace understudy::protocol
