#pragma once

#include <string_view>

namespace understudy {

// Glob-style matching with the exact results of Redis 7.0's stringmatchlen(),
// as used by KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET (nocase) and key classes.
//
//   *        any run of bytes (consecutive stars act as one)
//   ?        exactly one byte
//   [abc]    one byte from the set; [^abc] one byte not in it
//   [a-z]    a range; reversed ranges ([z-a]) work too; bytes compare as
//            signed chars, as on the x86-64 builds of Redis
//   \x       the byte x literally (inside brackets too); a lone trailing
//            backslash is a literal backslash
//
// Redis quirks that are reproduced on purpose, because replies must match:
//   - An empty text matches only the empty pattern: GlobMatch("*", "") is
//     false. KEYS and SCAN special-case the pattern "*" themselves; callers
//     that want that must do the same.
//   - An unterminated "[" class runs to the end of the pattern ("[ab" is a
//     one-byte class); "[" alone matches nothing, "[^" matches any byte.
//   - "[]" is an empty class (matches nothing), "[^]" matches any byte.
//   - A range is recognised whenever a '-' follows a class byte and at least
//     one more pattern byte exists, even if that byte is ']': "[a-]" is the
//     range ']'..'a' and the class then continues past that ']'.
//   - With nocase, an escaped byte inside brackets still compares
//     case-sensitively, and ranges are compared after lowercasing both ends.
//   - Redis gives up (no match) when matching would recurse through more than
//     1000 non-trailing star groups; this function returns false in exactly
//     those cases.
//
// Runs in O(pattern * text) time at worst with no recursion, so patterns such
// as "a*a*a*a*...b" cannot stall the event loop.
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

// The longest prefix of `pattern` containing none of the glob special bytes
// '*', '?', '[' and '\'. Every text matched by `pattern` starts with it
// (under case-sensitive matching). "user:*" gives "user:"; "*" gives "".
std::string_view GlobLiteralPrefix(std::string_view pattern);

}  // namespace understudy
