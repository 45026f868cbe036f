#include "common/glob.h"

#include <cstddef>
#include <utility>

namespace understudy {
namespace {

// Redis refuses to recurse deeper than this many star groups; a match that
// would need a deeper star fails there. We count instead of recursing.
constexpr int kMaxNonTrailingStarGroups = 1000;

// Redis reads pattern bytes as (signed) char on x86-64 and compares ranges as
// ints, so bytes >= 0x80 sort below ASCII inside [x-y].
int SignedByte(char c) { return static_cast<signed char>(c); }

// tolower() in the "C" locale, which is what Redis runs with for ctype.
int AsciiLower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

bool SameByte(char a, char b, bool nocase) {
  if (!nocase) return a == b;
  return AsciiLower(SignedByte(a)) == AsciiLower(SignedByte(b));
}

// Matches the bracket class that starts at pattern[open] == '[' against the
// byte `c`. Stores in *next the pattern index just past the class. The walk
// over the class depends only on the pattern, never on `c`, so the class ends
// at the same place whatever the text is.
bool MatchClass(std::string_view pattern, size_t open, char c, bool nocase, size_t* next) {
  const size_t size = pattern.size();
  // Past the end Redis sees the NUL terminator of its string; so do we.
  auto at = [&](size_t i) -> char { return i < size ? pattern[i] : '\0'; };

  size_t i = open + 1;
  const bool negate = at(i) == '^';
  if (negate) ++i;
  bool matched = false;
  while (true) {
    const size_t remaining = size - i;
    if (at(i) == '\\' && remaining >= 2) {
      ++i;
      // Escaped class members compare exactly, even when nocase is set.
      if (pattern[i] == c) matched = true;
    } else if (at(i) == ']') {
      break;
    } else if (remaining == 0) {
      // Unterminated class: it simply ends with the pattern.
      *next = size;
      return matched != negate;
    } else if (remaining >= 3 && pattern[i + 1] == '-') {
      int low = SignedByte(pattern[i]);
      int high = SignedByte(pattern[i + 2]);
      int byte = SignedByte(c);
      if (low > high) std::swap(low, high);
      if (nocase) {
        low = AsciiLower(low);
        high = AsciiLower(high);
        byte = AsciiLower(byte);
      }
      i += 2;
      if (byte >= low && byte <= high) matched = true;
    } else if (SameByte(pattern[i], c, nocase)) {
      matched = true;
    }
    ++i;
  }
  *next = i + 1;  // past the closing ']'
  return matched != negate;
}

// Matches the single-byte token at pattern[p] (anything but '*') against `c`
// and stores in *next the index of the token after it.
bool MatchOneToken(std::string_view pattern, size_t p, char c, bool nocase, size_t* next) {
  switch (pattern[p]) {
    case '?':
      *next = p + 1;
      return true;
    case '[':
      return MatchClass(pattern, p, c, nocase, next);
    case '\\':
      if (p + 1 < pattern.size()) ++p;  // a trailing '\' is itself literal
      [[fallthrough]];
    default:
      *next = p + 1;
      return SameByte(pattern[p], c, nocase);
  }
}

}  // namespace

// Classic single-backtrack-point wildcard matching: every token other than a
// star consumes exactly one byte, so when the text fails after a star it is
// enough to retry from the most recent star with one more byte swallowed by
// it. This gives the same answers as Redis's recursive matcher.
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  if (text.empty()) return pattern.empty();

  constexpr size_t kNoStar = std::string_view::npos;
  const size_t pattern_size = pattern.size();
  size_t p = 0;
  size_t t = 0;
  size_t resume_p = kNoStar;  // pattern index right after the latest star group
  size_t resume_t = 0;        // text index that star group currently stops at
  int star_groups = 0;

  while (t < text.size()) {
    if (p < pattern_size && pattern[p] == '*') {
      while (p < pattern_size && pattern[p] == '*') ++p;
      if (p == pattern_size) return true;  // a trailing star eats the rest
      if (++star_groups > kMaxNonTrailingStarGroups) return false;
      resume_p = p;
      resume_t = t;
      continue;
    }
    size_t next_p;
    if (p < pattern_size && MatchOneToken(pattern, p, text[t], nocase, &next_p)) {
      p = next_p;
      ++t;
      continue;
    }
    if (resume_p == kNoStar) return false;
    p = resume_p;
    t = ++resume_t;
  }
  while (p < pattern_size && pattern[p] == '*') ++p;
  return p == pattern_size;
}

std::string_view GlobLiteralPrefix(std::string_view pattern) {
  const size_t special = pattern.find_first_of("*?[\\");
  return special == std::string_view::npos ? pattern : pattern.substr(0, special);
}

}  // namespace understudy
