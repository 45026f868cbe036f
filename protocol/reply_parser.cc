#include "protocol/reply_parser.h"

#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

#include "common/numbers.h"

namespace understudy::protocol {
namespace {

// Longest length/count/integer line: "-9223372036854775808".
constexpr size_t kMaxNumberLine = 20;
// Redis writes doubles with "%.17g" (at most 24 bytes); leave room for other
// primaries' spellings without letting a line grow unbounded.
constexpr size_t kMaxDoubleLine = 128;

// Most bytes a header line of `type` may have between the type byte and CR,
// or 0 when `type` does not start a reply.
size_t MaxLineLength(char type) {
  switch (type) {
    case '+':
    case '-':
    case '(':
      return static_cast<size_t>(kMaxReplyBulkLength);
    case ',':
      return kMaxDoubleLine;
    case ':':
    case '$':
    case '*':
    case '_':
    case '#':
    case '!':
    case '=':
    case '%':
    case '~':
    case '>':
    case '|':
      return kMaxNumberLine;
    default:
      return 0;
  }
}

// Redis writes its numbers by string2ll's rules (common/numbers.h); a
// single digit, the common case ("$3", "*2", ":1"), is decided inline.
inline bool ParseDecimal(const char* p, size_t len, int64_t* out) {
  if (len == 1 && p[0] >= '0' && p[0] <= '9') {
    *out = p[0] - '0';
    return true;
  }
  return ParseInt64(std::string_view(p, len), out);
}

// Optional '-' and at least one digit (RESP3 big number).
bool IsBigNumber(const char* p, size_t len) {
  size_t i = (len > 0 && p[0] == '-') ? 1 : 0;
  if (i == len) return false;
  for (; i < len; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
  }
  return true;
}

// A RESP3 double: a decimal or exponent number, "inf", "-inf" or "nan"
// (from_chars takes all of these, and no leading '+' or space).
bool ParseDoubleText(const char* p, size_t len, double* out) {
  if (len == 0) return false;
  auto [end, ec] = std::from_chars(p, p + len, *out);
  // Out of range still means well formed (from_chars leaves *out alone).
  return end == p + len && (ec == std::errc() || ec == std::errc::result_out_of_range);
}

std::string DescribeByte(char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<unsigned char>(c);
  std::string out = "0x";
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 15]);
  if (byte >= 0x21 && byte < 0x7f) {
    out += " '";
    out.push_back(c);
    out += "'";
  }
  return out;
}

}  // namespace

ReplyScanner::ReplyScanner() { stack_.reserve(8); }

void ReplyScanner::Reset() {
  position_ = 0;
  line_searched_ = 0;
  bulk_end_ = 0;
  bulk_type_ = 0;
  stack_.clear();
}

ScanStatus ReplyScanner::Fail(std::string message) {
  Reset();
  error_ = std::move(message);
  return ScanStatus::kError;
}

bool ReplyScanner::ValueDone() {
  while (!stack_.empty()) {
    Frame& top = stack_.back();
    if (--top.remaining != 0) return false;
    const bool attribute = top.attribute;
    stack_.pop_back();
    // A finished attribute is not a value: the one it annotates follows.
    if (attribute) return false;
  }
  return true;
}

bool ReplyScanner::FinishBulk(const char* base) {
  if (base[bulk_end_ - 2] != '\r' || base[bulk_end_ - 1] != '\n') {
    error_ = "bulk payload not followed by CRLF";
    return false;
  }
  if (bulk_type_ == '=') {
    // "fmt:text": a three-byte format, then ':'.
    const size_t payload_length = bulk_length_;
    if (payload_length < 4 || base[bulk_end_ - 2 - payload_length + 3] != ':') {
      error_ = "verbatim string without a format prefix";
      return false;
    }
  }
  return true;
}

ScanStatus ReplyScanner::Scan(std::string_view data, size_t* length) {
  const char* const base = data.data();
  const size_t size = data.size();
  size_t pos = position_;
  if (size < pos || size < line_searched_) {
    return Fail("the reply's bytes shrank between calls");
  }

  if (bulk_end_ != 0) {  // resuming inside a bulk payload
    if (size < bulk_end_) return ScanStatus::kNeedMore;
    if (!FinishBulk(base)) return Fail(std::move(error_));
    pos = bulk_end_;
    bulk_end_ = 0;
    if (ValueDone()) {
      *length = pos;
      Reset();
      return ScanStatus::kComplete;
    }
  }

  for (;;) {
    if (pos >= size) {
      position_ = pos;
      return ScanStatus::kNeedMore;
    }
    const char type = base[pos];
    const size_t max_line = MaxLineLength(type);
    if (max_line == 0) return Fail("unexpected type byte " + DescribeByte(type));

    // Find the header line's CR, not searching again what an earlier call
    // already searched (a huge simple string may arrive in many reads).
    const size_t line_start = pos + 1;
    const size_t search_from = line_searched_ > line_start ? line_searched_ : line_start;
    const void* cr =
        search_from < size ? memchr(base + search_from, '\r', size - search_from) : nullptr;
    if (cr == nullptr) {
      if (size - line_start > max_line) return Fail("header line too long");
      line_searched_ = size;
      position_ = pos;
      return ScanStatus::kNeedMore;
    }
    const size_t cr_at = static_cast<const char*>(cr) - base;
    const size_t line_length = cr_at - line_start;
    if (line_length > max_line) return Fail("header line too long");
    if (cr_at + 1 == size) {
      line_searched_ = cr_at;
      position_ = pos;
      return ScanStatus::kNeedMore;
    }
    if (base[cr_at + 1] != '\n') return Fail("CR not followed by LF");
    line_searched_ = 0;
    const char* const line = base + line_start;
    size_t next = cr_at + 2;
    if (stack_.empty() && type != '|') type_ = type;

    switch (type) {
      case '+':
      case '-':
        break;
      case ':': {
        int64_t value;
        if (!ParseDecimal(line, line_length, &value)) return Fail("invalid integer");
        break;
      }
      case '_':
        if (line_length != 0) return Fail("null with content");
        break;
      case '#':
        if (line_length != 1 || (line[0] != 't' && line[0] != 'f')) {
          return Fail("invalid boolean");
        }
        break;
      case ',': {
        double value;
        if (!ParseDoubleText(line, line_length, &value)) return Fail("invalid double");
        break;
      }
      case '(':
        if (!IsBigNumber(line, line_length)) return Fail("invalid big number");
        break;
      case '$':
      case '!':
      case '=': {
        int64_t payload_length;
        if (!ParseDecimal(line, line_length, &payload_length)) {
          if (line_length == 1 && line[0] == '?') {
            return Fail("streamed strings are not supported (Redis never sends them)");
          }
          return Fail("invalid bulk length");
        }
        if (payload_length < 0) {
          if (payload_length == -1 && type == '$') break;  // RESP2 null bulk
          return Fail("invalid bulk length");
        }
        if (payload_length > kMaxReplyBulkLength) return Fail("bulk length exceeds 512 MB");
        bulk_end_ = next + static_cast<size_t>(payload_length) + 2;
        bulk_type_ = type;
        bulk_length_ = static_cast<size_t>(payload_length);
        if (bulk_end_ > size) return ScanStatus::kNeedMore;
        if (!FinishBulk(base)) return Fail(std::move(error_));
        next = bulk_end_;
        bulk_end_ = 0;
        break;
      }
      default: {  // aggregates: '*', '%', '~', '>', '|'
        int64_t count;
        if (!ParseDecimal(line, line_length, &count)) {
          if (line_length == 1 && line[0] == '?') {
            return Fail("streamed aggregates are not supported (Redis never sends them)");
          }
          return Fail("invalid aggregate length");
        }
        if (count < 0) {
          if (count == -1 && type == '*') break;  // RESP2 null array
          return Fail("invalid aggregate length");
        }
        if (count == 0) {
          if (type == '|') {  // an empty attribute; the annotated value follows
            pos = next;
            continue;
          }
          break;  // an empty aggregate is a complete value
        }
        if (stack_.size() >= kMaxReplyNesting) return Fail("reply nested too deeply");
        // A map or attribute holds two values per entry; 2 * INT64_MAX fits.
        const uint64_t values =
            static_cast<uint64_t>(count) * ((type == '%' || type == '|') ? 2 : 1);
        stack_.push_back({values, type == '|'});
        pos = next;
        continue;
      }
    }

    pos = next;
    if (ValueDone()) {
      *length = pos;
      Reset();
      return ScanStatus::kComplete;
    }
  }
}

std::string_view ReplyValue::ErrorCode() const {
  if (!IsError()) return {};
  std::string_view text(str);
  return text.substr(0, text.find(' '));
}

namespace {

// Builds the ReplyValue tree of a reply ReplyScanner has already framed and
// validated, so it can trust every header; it still avoids recursion.
class ReplyTreeBuilder {
 public:
  explicit ReplyTreeBuilder(std::string_view reply) : reply_(reply) {}

  void Build(ReplyValue* out);

 private:
  struct Frame {
    ReplyValue* target;  // whose elements are being filled
    uint64_t remaining;
    // For an attribute: the value collecting its entries, and the attributes
    // pending before it began (several attributes may precede one value).
    std::unique_ptr<ReplyValue> attribute;
    std::vector<ReplyValue> earlier_attributes;
  };

  // Reads one header: its type and line, and moves past it.
  char ReadHeader(std::string_view* line);
  ReplyValue* NewSlot(ReplyValue* top);
  bool ValueDone();

  std::string_view reply_;
  size_t pos_ = 0;
  std::vector<Frame> frames_;
  std::vector<ReplyValue> pending_attributes_;
};

char ReplyTreeBuilder::ReadHeader(std::string_view* line) {
  const char type = reply_[pos_];
  const size_t cr_at = reply_.find('\r', pos_ + 1);
  *line = reply_.substr(pos_ + 1, cr_at - pos_ - 1);
  pos_ = cr_at + 2;
  return type;
}

ReplyValue* ReplyTreeBuilder::NewSlot(ReplyValue* top) {
  ReplyValue* slot = frames_.empty() ? top : &frames_.back().target->elements.emplace_back();
  slot->attributes = std::move(pending_attributes_);
  pending_attributes_.clear();
  return slot;
}

bool ReplyTreeBuilder::ValueDone() {
  while (!frames_.empty()) {
    Frame& top = frames_.back();
    if (--top.remaining != 0) return false;
    if (top.attribute != nullptr) {
      pending_attributes_ = std::move(top.earlier_attributes);
      for (ReplyValue& entry : top.attribute->elements) {
        pending_attributes_.push_back(std::move(entry));
      }
      frames_.pop_back();
      return false;
    }
    frames_.pop_back();
  }
  return true;
}

void ReplyTreeBuilder::Build(ReplyValue* out) {
  *out = ReplyValue();
  for (;;) {
    std::string_view line;
    const char type = ReadHeader(&line);
    int64_t number = 0;
    if (type == '|') {
      ParseDecimal(line.data(), line.size(), &number);
      if (number == 0) continue;
      auto holder = std::make_unique<ReplyValue>();
      holder->type = '%';
      // The scanner saw every entry, so the count is bounded by the bytes.
      holder->elements.reserve(static_cast<size_t>(number) * 2);
      ReplyValue* target = holder.get();
      frames_.push_back({target, static_cast<uint64_t>(number) * 2, std::move(holder),
                         std::move(pending_attributes_)});
      pending_attributes_.clear();
      continue;
    }

    ReplyValue* value = NewSlot(out);
    value->type = type;
    switch (type) {
      case '+':
      case '-':
      case '(':
        value->str.assign(line);
        break;
      case ':':
        ParseDecimal(line.data(), line.size(), &value->integer);
        break;
      case '#':
        value->integer = line[0] == 't' ? 1 : 0;
        break;
      case ',':
        value->str.assign(line);
        ParseDoubleText(line.data(), line.size(), &value->number);
        break;
      case '_':
        break;
      case '$':
      case '!':
      case '=': {
        ParseDecimal(line.data(), line.size(), &number);
        if (number < 0) {  // "$-1"
          value->type = '_';
          break;
        }
        std::string_view payload = reply_.substr(pos_, static_cast<size_t>(number));
        pos_ += static_cast<size_t>(number) + 2;
        if (type == '=') {
          value->format.assign(payload.substr(0, 3));
          payload.remove_prefix(4);
        }
        value->str.assign(payload);
        break;
      }
      default: {  // '*', '%', '~', '>'
        ParseDecimal(line.data(), line.size(), &number);
        if (number < 0) {  // "*-1"
          value->type = '_';
          value->resp2_null_array = true;
          break;
        }
        if (number == 0) break;
        const uint64_t values = static_cast<uint64_t>(number) * (type == '%' ? 2 : 1);
        value->elements.reserve(values);  // reserved up front: slot pointers stay valid
        frames_.push_back({value, values, nullptr, {}});
        continue;
      }
    }
    if (ValueDone()) return;
  }
}

}  // namespace

ScanStatus ParseReply(std::string_view data, ReplyValue* out, size_t* consumed,
                      std::string* error) {
  // Frame and validate first: the builder then never meets a malformed or
  // truncated reply, and both functions accept exactly the same input.
  ReplyScanner scanner;
  size_t length = 0;
  const ScanStatus status = scanner.Scan(data, &length);
  if (status == ScanStatus::kError && error != nullptr) *error = scanner.error();
  if (status != ScanStatus::kComplete) return status;
  ReplyTreeBuilder(data.substr(0, length)).Build(out);
  *consumed = length;
  return ScanStatus::kComplete;
}

}  // namespace understudy::protocol
