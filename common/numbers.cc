#include "common/numbers.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace understudy {
namespace {

// isspace() in the "C" locale, which is what Redis tests the first byte with.
bool IsCSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// strtod/strtold need a NUL-terminated string; arguments arrive as views.
// Short inputs (the common case) are copied to the stack, long ones to heap.
class NulTerminated {
 public:
  explicit NulTerminated(std::string_view s) {
    if (s.size() < sizeof(small_)) {
      std::memcpy(small_, s.data(), s.size());
      small_[s.size()] = '\0';
      data_ = small_;
    } else {
      large_.assign(s);
      data_ = large_.c_str();
    }
  }
  const char* c_str() const { return data_; }

 private:
  char small_[128];
  std::string large_;
  const char* data_;
};

// Shared acceptance rules of Redis's string2d and string2ld, applied after
// `parse` (strtod or strtold) has run on the NUL-terminated copy of `s`.
template <typename Float, typename Parse>
bool ParseFloatLikeRedis(std::string_view s, Parse parse, Float* out) {
  if (s.empty() || IsCSpace(s[0])) return false;
  NulTerminated text(s);
  char* end = nullptr;
  errno = 0;
  const Float value = parse(text.c_str(), &end);
  const int parse_errno = errno;
  // Trailing garbage, or an embedded NUL that stopped the parse early.
  if (static_cast<size_t>(end - text.c_str()) != s.size()) return false;
  // Overflow to +-inf or underflow all the way to zero; a denormal result
  // also reports ERANGE but is kept, as in Redis.
  if (parse_errno == ERANGE && (std::isinf(value) || value == 0)) return false;
  if (parse_errno == EINVAL || std::isnan(value)) return false;
  *out = value;
  return true;
}

constexpr std::array<char, 200> MakeDigitPairs() {
  std::array<char, 200> pairs{};
  for (int i = 0; i < 100; ++i) {
    pairs[2 * i] = static_cast<char>('0' + i / 10);
    pairs[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return pairs;
}
constexpr std::array<char, 200> kDigitPairs = MakeDigitPairs();

int DecimalDigitCount(uint64_t value) {
  int digits = 1;
  while (value >= 10) {
    value /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > kInt64MaxChars) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == s.size()) return false;
  // The first digit must be 1-9: this rules out "007" and "-0".
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t magnitude = static_cast<uint64_t>(s[i] - '0');
  constexpr uint64_t kMaxMagnitude = std::numeric_limits<uint64_t>::max();
  for (++i; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (magnitude > kMaxMagnitude / 10) return false;
    magnitude *= 10;
    if (magnitude > kMaxMagnitude - digit) return false;
    magnitude += digit;
  }
  constexpr uint64_t kMaxPositive = std::numeric_limits<int64_t>::max();
  if (negative) {
    if (magnitude > kMaxPositive + 1) return false;
    // Negate in unsigned arithmetic so that INT64_MIN does not overflow.
    *out = static_cast<int64_t>(0 - magnitude);
  } else {
    if (magnitude > kMaxPositive) return false;
    *out = static_cast<int64_t>(magnitude);
  }
  return true;
}

namespace {

// Parses a short plain decimal integer ("-12", "+7", "007"): the common
// shape of scores and other float arguments. Up to 15 digits the value is
// below 2^53, so the conversion is exact and equals what strtod returns,
// at a small fraction of its cost (strtod was an eighth of a whole ZADD).
// False for anything else, which then goes to strtod.
bool ParseSmallIntegerAsDouble(std::string_view s, double* out) {
  constexpr size_t kMaxDigits = 15;
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) i = 1;
  const size_t digits = s.size() - i;
  if (digits == 0 || digits > kMaxDigits) return false;
  uint64_t magnitude = 0;
  for (; i < s.size(); ++i) {
    const unsigned digit = static_cast<unsigned char>(s[i]) - '0';
    if (digit > 9) return false;
    magnitude = magnitude * 10 + digit;
  }
  const double value = static_cast<double>(magnitude);
  *out = negative ? -value : value;  // "-0" is -0.0, as from strtod
  return true;
}

}  // namespace

bool ParseDouble(std::string_view s, double* out) {
  if (ParseSmallIntegerAsDouble(s, out)) return true;
  return ParseFloatLikeRedis<double>(
      s, [](const char* p, char** e) { return std::strtod(p, e); }, out);
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.size() >= kLongDoubleMaxChars) return false;
  return ParseFloatLikeRedis<long double>(
      s, [](const char* p, char** e) { return std::strtold(p, e); }, out);
}

char* FormatInt64(int64_t value, char* buf) {
  uint64_t magnitude = static_cast<uint64_t>(value);
  if (value < 0) {
    *buf++ = '-';
    magnitude = 0 - magnitude;
  }
  char* const end = buf + DecimalDigitCount(magnitude);
  char* p = end;
  while (magnitude >= 100) {
    const size_t pair = static_cast<size_t>(magnitude % 100) * 2;
    magnitude /= 100;
    *--p = kDigitPairs[pair + 1];
    *--p = kDigitPairs[pair];
  }
  if (magnitude >= 10) {
    const size_t pair = static_cast<size_t>(magnitude) * 2;
    *--p = kDigitPairs[pair + 1];
    *--p = kDigitPairs[pair];
  } else {
    *--p = static_cast<char>('0' + magnitude);
  }
  return end;
}

std::string Int64ToString(int64_t value) {
  char buf[kInt64MaxChars];
  return std::string(buf, FormatInt64(value, buf));
}

char* FormatDouble(double value, char* buf) {
  // Spelled out rather than left to printf, as Redis does.
  if (std::isinf(value)) {
    const std::string_view text = value > 0 ? "inf" : "-inf";
    std::memcpy(buf, text.data(), text.size());
    return buf + text.size();
  }
  char text[kDoubleMaxChars + 1];
  const int length = std::snprintf(text, sizeof(text), "%.17g", value);
  std::memcpy(buf, text, static_cast<size_t>(length));
  return buf + length;
}

std::string FormatDouble(double value) {
  char buf[kDoubleMaxChars];
  return std::string(buf, FormatDouble(value, buf));
}

std::string FormatLongDoubleHuman(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Redis formats into a kLongDoubleMaxChars buffer and yields an empty
  // string when the text does not fit. No finite long double needs that much
  // (the largest takes about 4950 bytes), but keep the same bound.
  char buf[kLongDoubleMaxChars];
  const int printed = std::snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (printed < 0 || static_cast<size_t>(printed) + 1 > sizeof(buf)) return "";
  std::string_view text(buf, static_cast<size_t>(printed));
  if (text.find('.') != std::string_view::npos) {
    while (text.back() == '0') text.remove_suffix(1);
    if (text.back() == '.') text.remove_suffix(1);
  }
  if (text == "-0") return "0";
  return std::string(text);
}

}  // namespace understudy
