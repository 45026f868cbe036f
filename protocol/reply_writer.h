#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace understudy::protocol {

enum class RespVersion : uint8_t { kResp2 = 2, kResp3 = 3 };

// Appends RESP-encoded replies to a caller-owned byte string. The protocol
// version decides how the RESP3-only types degrade: under RESP2 a map becomes
// a flat array of 2n items, a set or push an array, a double a bulk string, a
// boolean an integer and null a null bulk ($-1) or null array (*-1).
//
// The writer does no I/O and keeps no state but the target and the version,
// so it is cheap to construct per command.
class ReplyWriter {
 public:
  // `error_count`, when given, is incremented for every error reply written
  // (INFO's total_error_replies).
  ReplyWriter(std::string* out, RespVersion version, uint64_t* error_count = nullptr)
      : out_(out), version_(version), error_count_(error_count) {}

  RespVersion version() const { return version_; }
  bool resp3() const { return version_ == RespVersion::kResp3; }
  std::string* buffer() { return out_; }

  // +text  (text must not contain CR or LF)
  void Status(std::string_view text) { Line('+', text); }
  void Ok() { out_->append("+OK\r\n", 5); }
  // -text  where text starts with the error code, e.g. "ERR syntax error".
  // CR and LF inside text are replaced by spaces, as Redis does.
  void Error(std::string_view text);
  void Integer(int64_t value) { Prefixed(':', value); }
  void Bulk(std::string_view data);
  // Null bulk string ($-1 / _).
  void Null() {
    if (resp3()) {
      out_->append("_\r\n", 3);
    } else {
      out_->append("$-1\r\n", 5);
    }
  }
  // Null array (*-1 / _), e.g. EXEC aborted by WATCH.
  void NullArray() {
    if (resp3()) {
      out_->append("_\r\n", 3);
    } else {
      out_->append("*-1\r\n", 5);
    }
  }
  void ArrayHeader(int64_t count) { Prefixed('*', count); }
  void EmptyArray() { out_->append("*0\r\n", 4); }
  // A map of `pairs` key/value pairs; the caller writes 2*pairs items.
  void MapHeader(int64_t pairs) {
    if (resp3()) {
      Prefixed('%', pairs);
    } else {
      Prefixed('*', pairs * 2);
    }
  }
  void SetHeader(int64_t count) { Prefixed(resp3() ? '~' : '*', count); }
  void PushHeader(int64_t count) { Prefixed(resp3() ? '>' : '*', count); }
  // A double as Redis 7.0 formats it: RESP3 ",<text>", RESP2 a bulk string.
  void Double(double value);
  void Bool(bool value) {
    if (resp3()) {
      out_->append(value ? "#t\r\n" : "#f\r\n", 4);
    } else {
      out_->append(value ? ":1\r\n" : ":0\r\n", 4);
    }
  }
  // Verbatim text (INFO, CLIENT LIST): RESP3 "=len\r\ntxt:..." or a bulk.
  void Verbatim(std::string_view text, std::string_view format = "txt");

  // Arrays whose length is known only after their items are written (KEYS,
  // SCAN). Begin returns a mark; End inserts the header there.
  size_t BeginDeferred() const { return out_->size(); }
  void EndDeferredArray(size_t mark, int64_t count) { InsertHeader(mark, '*', count); }
  void EndDeferredMap(size_t mark, int64_t pairs) {
    if (resp3()) {
      InsertHeader(mark, '%', pairs);
    } else {
      InsertHeader(mark, '*', pairs * 2);
    }
  }
  void EndDeferredSet(size_t mark, int64_t count) {
    InsertHeader(mark, resp3() ? '~' : '*', count);
  }

  // Raw bytes already in RESP form.
  void Raw(std::string_view bytes) { out_->append(bytes); }

 private:
  void Line(char prefix, std::string_view text) {
    out_->push_back(prefix);
    out_->append(text);
    out_->append("\r\n", 2);
  }
  void Prefixed(char prefix, int64_t value) {
    char buf[24];
    buf[0] = prefix;
    char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 2, value).ptr;
    *end++ = '\r';
    *end++ = '\n';
    out_->append(buf, end - buf);
  }
  void InsertHeader(size_t mark, char prefix, int64_t count);

  std::string* out_;
  RespVersion version_;
  uint64_t* error_count_;
};

}  // namespace understudy::protocol
