#include "common/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace understudy {
namespace {

using namespace std::string_literals;

// Expected results below were checked against redis-server 7.0.15 with KEYS
// (case-sensitive) and CONFIG GET (case-insensitive).

TEST(GlobMatchTest, LiteralPatterns) {
  EXPECT_TRUE(GlobMatch("hello", "hello"));
  EXPECT_FALSE(GlobMatch("hello", "hell"));
  EXPECT_FALSE(GlobMatch("hell", "hello"));
  EXPECT_FALSE(GlobMatch("hello", "Hello"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_FALSE(GlobMatch("a", ""));
}

TEST(GlobMatchTest, StarMatchesAnyRun) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("user:*", "user:"));
  EXPECT_TRUE(GlobMatch("user:*", "user:42"));
  EXPECT_FALSE(GlobMatch("user:*", "user"));
  EXPECT_TRUE(GlobMatch("*:42", "user:42"));
  EXPECT_TRUE(GlobMatch("h*o", "ho"));
  EXPECT_TRUE(GlobMatch("h*o", "hello"));
  EXPECT_FALSE(GlobMatch("h*o", "hellx"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_TRUE(GlobMatch("a*b*c", "abbbc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "acb"));
  EXPECT_TRUE(GlobMatch("***a***", "bab"));
  EXPECT_TRUE(GlobMatch("a**", "a"));
  EXPECT_TRUE(GlobMatch("*a*", "a"));
  EXPECT_FALSE(GlobMatch("a*b", "a"));
}

TEST(GlobMatchTest, NeedsBacktrackingToAnEarlierStarPosition) {
  EXPECT_TRUE(GlobMatch("*ab", "aab"));
  EXPECT_TRUE(GlobMatch("*aab", "aaab"));
  EXPECT_TRUE(GlobMatch("a*ab*b", "aabab"));
  EXPECT_FALSE(GlobMatch("*ab", "aba"));
  EXPECT_TRUE(GlobMatch("*?b", "xxab"));
}

TEST(GlobMatchTest, EmptyTextMatchesOnlyEmptyPattern) {
  // Redis quirk: stringmatchlen("*", "") is 0; KEYS special-cases "*".
  EXPECT_FALSE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("**", ""));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_FALSE(GlobMatch("[^", ""));
}

TEST(GlobMatchTest, QuestionMarkMatchesExactlyOneByte) {
  EXPECT_TRUE(GlobMatch("h?llo", "hello"));
  EXPECT_TRUE(GlobMatch("h?llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h?llo", "hllo"));
  EXPECT_FALSE(GlobMatch("h?llo", "heello"));
  EXPECT_TRUE(GlobMatch("???", "\xff\x00\x80"s));
  EXPECT_TRUE(GlobMatch("?*", "x"));
}

TEST(GlobMatchTest, BracketClasses) {
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[ae]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[ae]llo", "hillo"));
  EXPECT_TRUE(GlobMatch("h[^e]llo", "hallo"));
  EXPECT_FALSE(GlobMatch("h[^e]llo", "hello"));
  EXPECT_TRUE(GlobMatch("h[a-b]llo", "hbllo"));
  EXPECT_FALSE(GlobMatch("h[a-b]llo", "hcllo"));
  EXPECT_TRUE(GlobMatch("[*]", "*"));
  EXPECT_FALSE(GlobMatch("[*]", "a"));
  EXPECT_TRUE(GlobMatch("[?]", "?"));
  EXPECT_TRUE(GlobMatch("[[]", "["));
  EXPECT_TRUE(GlobMatch("[x^]", "^"));
}

TEST(GlobMatchTest, ReversedRangesWork) {
  EXPECT_TRUE(GlobMatch("[z-a]", "m"));
  EXPECT_FALSE(GlobMatch("[z-a]", "A"));
  EXPECT_TRUE(GlobMatch("[9-0]x", "5x"));
}

TEST(GlobMatchTest, RangesCompareBytesAsSignedChars) {
  // 0xff is -1 as a signed char, so [a-\xff] spans -1..'a' and takes 'A'.
  EXPECT_TRUE(GlobMatch("[a-\xff]", "A"));
  EXPECT_FALSE(GlobMatch("[a-\xff]", "b"));
  EXPECT_TRUE(GlobMatch("[\x80-\xff]", "\x90"));
  EXPECT_FALSE(GlobMatch("[\x80-\xff]", "a"));
}

TEST(GlobMatchTest, EmptyAndOddClasses) {
  EXPECT_FALSE(GlobMatch("[]", "a"));
  EXPECT_FALSE(GlobMatch("[]ab]", "ab"));  // "[]" then literal "ab]"
  EXPECT_FALSE(GlobMatch("[]ab]", "xab]"));
  EXPECT_TRUE(GlobMatch("[^]", "q"));
  EXPECT_TRUE(GlobMatch("[^]ab]", "xab]"));
  EXPECT_TRUE(GlobMatch("[^]*", "_"));
  EXPECT_TRUE(GlobMatch("[^]*", "ab"));
}

TEST(GlobMatchTest, UnterminatedClassRunsToEndOfPattern) {
  EXPECT_FALSE(GlobMatch("[", "["));
  EXPECT_FALSE(GlobMatch("[", "a"));
  EXPECT_TRUE(GlobMatch("[^", "_"));
  EXPECT_TRUE(GlobMatch("[abc", "b"));
  EXPECT_FALSE(GlobMatch("[abc", "abc"));
  EXPECT_TRUE(GlobMatch("x[a*", "x*"));  // the star is a class member here
  EXPECT_FALSE(GlobMatch("x[a*", "xaa"));
}

TEST(GlobMatchTest, DashBeforeClosingBracketMakesARange) {
  // "[a-]" is the range ']'..'a' (0x5d..0x61), and the class goes on past ']'.
  EXPECT_TRUE(GlobMatch("[a-]", "_"));
  EXPECT_TRUE(GlobMatch("[a-]", "]"));
  EXPECT_TRUE(GlobMatch("[a-]", "a"));
  EXPECT_FALSE(GlobMatch("[a-]", "-"));
  EXPECT_FALSE(GlobMatch("[a-]b", "ab"));  // 'b' is inside the class
  EXPECT_TRUE(GlobMatch("[a-]b", "b"));
  EXPECT_TRUE(GlobMatch("[a-]x]", "x"));
  EXPECT_TRUE(GlobMatch("[-a]", "-"));
}

TEST(GlobMatchTest, BackslashEscapes) {
  EXPECT_TRUE(GlobMatch("\\*", "*"));
  EXPECT_FALSE(GlobMatch("\\*", "a"));
  EXPECT_TRUE(GlobMatch("\\?", "?"));
  EXPECT_FALSE(GlobMatch("\\?", "x"));
  EXPECT_TRUE(GlobMatch("a\\[b", "a[b"));
  EXPECT_TRUE(GlobMatch("\\a", "a"));
  EXPECT_TRUE(GlobMatch("\\\\", "\\"));
  EXPECT_TRUE(GlobMatch("\\", "\\"));  // trailing backslash is literal
  EXPECT_TRUE(GlobMatch("[\\]]", "]"));
  EXPECT_TRUE(GlobMatch("[\\", "\\"));
  EXPECT_FALSE(GlobMatch("[\\]", "\\"));  // escaped ']' and no closing bracket
  EXPECT_TRUE(GlobMatch("[\\]", "]"));
  EXPECT_TRUE(GlobMatch("[\\-z]", "-"));
  EXPECT_FALSE(GlobMatch("[\\-z]", "m"));
}

TEST(GlobMatchTest, BinarySafe) {
  EXPECT_TRUE(GlobMatch("a\0b"s, "a\0b"s));
  EXPECT_FALSE(GlobMatch("a\0b"s, "a\0c"s));
  EXPECT_TRUE(GlobMatch("*\0*"s, "xx\0yy"s));
  EXPECT_TRUE(GlobMatch("[\0]"s, "\0"s));
}

TEST(GlobMatchTest, NoCaseFoldsAsciiLetters) {
  EXPECT_TRUE(GlobMatch("HELLO", "hello", true));
  EXPECT_TRUE(GlobMatch("h?LLO*", "Hello world", true));
  EXPECT_FALSE(GlobMatch("HELLO", "hello", false));
  EXPECT_TRUE(GlobMatch("[M]axmemory", "maxmemory", true));
  EXPECT_TRUE(GlobMatch("\\Maxmemory*", "maxmemory-policy", true));
  EXPECT_TRUE(GlobMatch("\xc3\x89", "\xc3\x89", true));
  EXPECT_FALSE(GlobMatch("\xc3\x89", "\xc3\xa9", true));  // only ASCII folds
}

TEST(GlobMatchTest, NoCaseQuirksInsideClasses) {
  // Escaped class members compare exactly even with nocase.
  EXPECT_FALSE(GlobMatch("[\\M]axmemory", "maxmemory", true));
  EXPECT_TRUE(GlobMatch("[\\m]axmemory", "maxmemory", true));
  EXPECT_TRUE(GlobMatch("[^\\M]axmemory", "maxmemory", true));
  // Range ends are lowercased after ordering: [A-Z] becomes a..z...
  EXPECT_TRUE(GlobMatch("[A-Z]axmemory", "maxmemory", true));
  // ...and [Z-a] becomes z..a, an empty range.
  EXPECT_FALSE(GlobMatch("[Z-a]", "z", true));
  EXPECT_TRUE(GlobMatch("[Z-a]", "_", false));
  EXPECT_FALSE(GlobMatch("[Z-a]", "_", true));
  // [A-z] becomes a..z, which no longer contains '_'.
  EXPECT_TRUE(GlobMatch("[A-z]", "_", false));
  EXPECT_FALSE(GlobMatch("[A-z]", "_", true));
}

TEST(GlobMatchTest, GivesUpPastOneThousandNonTrailingStarGroups) {
  const std::string text(1001, 'a');
  std::string star_a_1000;
  for (int i = 0; i < 1000; ++i) star_a_1000 += "*a";
  EXPECT_TRUE(GlobMatch(star_a_1000, text));
  EXPECT_TRUE(GlobMatch(star_a_1000 + "*", text));
  EXPECT_FALSE(GlobMatch(star_a_1000 + "*a", text));
  EXPECT_FALSE(GlobMatch(star_a_1000 + "*a*", text));

  std::string a_star_1001;
  for (int i = 0; i < 1001; ++i) a_star_1001 += "a*";
  EXPECT_TRUE(GlobMatch(a_star_1001, text));          // last group trails
  EXPECT_FALSE(GlobMatch(a_star_1001 + "a*", text));  // 1001 inner groups
  // Groups of consecutive stars count once; escaped stars not at all.
  std::string double_stars;
  for (int i = 0; i < 1000; ++i) double_stars += "**a";
  EXPECT_TRUE(GlobMatch(double_stars, text));
  std::string escaped = "*";
  for (int i = 0; i < 2000; ++i) escaped += "\\*";
  EXPECT_TRUE(GlobMatch(escaped, "x" + std::string(2000, '*')));
}

TEST(GlobMatchTest, PathologicalPatternsFinishQuickly) {
  const auto start = std::chrono::steady_clock::now();
  std::string pattern;
  for (int i = 0; i < 900; ++i) pattern += "a*";
  pattern += "b";
  const std::string text(5000, 'a');
  EXPECT_FALSE(GlobMatch(pattern, text));
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(20000, 'a')));
  EXPECT_FALSE(GlobMatch("[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*!", std::string(20000, 'q')));
  EXPECT_TRUE(GlobMatch(pattern, text + "b"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // A backtracking matcher without bounds would take far longer than this.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(GlobLiteralPrefixTest, StopsAtFirstSpecialByte) {
  EXPECT_EQ(GlobLiteralPrefix("user:*"), "user:");
  EXPECT_EQ(GlobLiteralPrefix("user:1?"), "user:1");
  EXPECT_EQ(GlobLiteralPrefix("a[bc]"), "a");
  EXPECT_EQ(GlobLiteralPrefix("a\\*b"), "a");
  EXPECT_EQ(GlobLiteralPrefix("*"), "");
  EXPECT_EQ(GlobLiteralPrefix(""), "");
  EXPECT_EQ(GlobLiteralPrefix("plain"), "plain");
  EXPECT_EQ(GlobLiteralPrefix("a]b^-c"), "a]b^-c");
}

TEST(GlobLiteralPrefixTest, EveryMatchStartsWithThePrefix) {
  const char* patterns[] = {"ab*", "ab?d", "ab[cd]", "ab\\*", "abc"};
  const char* texts[] = {"ab", "abc", "abcd", "ab*", "abxd", "xabc"};
  for (const char* pattern : patterns) {
    for (const char* text : texts) {
      if (GlobMatch(pattern, text)) {
        EXPECT_EQ(std::string_view(text).substr(0, GlobLiteralPrefix(pattern).size()),
                  GlobLiteralPrefix(pattern))
            << pattern << " " << text;
      }
    }
  }
}

}  // namespace
}  // namespace understudy
