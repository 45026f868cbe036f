#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Number parsing and formatting with the exact acceptance rules and output
// text of redis-server 7.0, so that replies and errors match byte for byte.
//
// The floating-point functions use strtod/strtold/snprintf and therefore the
// process's LC_NUMERIC locale; like Redis, the daemon must leave it at "C".

namespace understudy {

// Bytes FormatInt64 may write: "-9223372036854775808" is 20 characters.
inline constexpr size_t kInt64MaxChars = 20;
// Bytes FormatDouble(double, char*) may write ("%.17g" or "inf"/"-inf"/"nan").
inline constexpr size_t kDoubleMaxChars = 32;
// Redis's MAX_LONG_DOUBLE_CHARS: long-double arguments must be shorter.
inline constexpr size_t kLongDoubleMaxChars = 5 * 1024;

// Parses a signed 64-bit integer the way Redis's string2ll does (INCR, EXPIRE,
// SETRANGE offsets, ...): optional '-', then digits with no leading zero
// ("0" alone is fine, "-0" and "007" are not), no '+', no spaces, no other
// bytes, at most 20 bytes, and the value must fit in int64_t.
// Returns false, leaving *out untouched, if `s` is not such a number.
bool ParseInt64(std::string_view s, int64_t* out);

// Parses a double the way Redis's getDoubleFromObject/string2d does (ZADD
// scores, INCRBYFLOAT-style double args): whatever strtod accepts, including
// a leading '+', hex floats ("0x1p3") and "inf"/"infinity" in any case, as
// long as it spans the whole string, does not start with white space, is not
// NaN, and does not overflow to +-inf or underflow to zero (denormals are
// accepted). There is no length limit. Returns false, leaving *out untouched,
// otherwise.
bool ParseDouble(std::string_view s, double* out);

// Parses a long double the way Redis's string2ld does (INCRBYFLOAT,
// HINCRBYFLOAT): the rules of ParseDouble applied to strtold, plus a length
// limit: strings of kLongDoubleMaxChars bytes or more are rejected. Infinity
// is accepted; callers reject infinite results themselves.
bool ParseLongDouble(std::string_view s, long double* out);

// Writes the decimal form of `value` at `buf` (which must have room for
// kInt64MaxChars bytes; no NUL is written) and returns the end pointer.
char* FormatInt64(int64_t value, char* buf);

// Decimal form of `value`, e.g. "-42".
std::string Int64ToString(int64_t value);

// The text Redis 7.0 replies with for a double (addReplyDouble): "inf" or
// "-inf" for infinities, otherwise printf's "%.17g" ("1", "0.10000000000000001",
// "1e+20", "-0"). RESP2 sends it as a bulk string and RESP3 after ','; the text
// is the same. Sorted-set replies (ZSCORE, ZINCRBY, WITHSCORES) use this too:
// Redis 7.0 has no separate score text (d2string only feeds internal storage).
std::string FormatDouble(double value);

// As FormatDouble, written at `buf` (room for kDoubleMaxChars bytes; no NUL
// is written). Returns the end pointer.
char* FormatDouble(double value, char* buf);

// The text Redis's ld2string(..., LD_STR_HUMAN) produces, as INCRBYFLOAT and
// HINCRBYFLOAT reply and store: "inf"/"-inf" for infinities, otherwise
// "%.17Lf" with trailing zeros (and then a trailing '.') removed, and "-0"
// turned into "0". So 10.5 -> "10.5", 5e3 -> "5000", 1e-20 -> "0",
// 1e30 -> "1000000000000000000024696061952" (never exponent notation).
std::string FormatLongDoubleHuman(long double value);

}  // namespace understudy
