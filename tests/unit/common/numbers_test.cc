#include "common/numbers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace understudy {
namespace {

using namespace std::string_literals;

// Expected results below were checked against redis-server 7.0.15:
// integers with INCRBY, doubles with ZADD + ZSCORE, long doubles with
// INCRBYFLOAT.

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool Int64Rejected(std::string_view s) {
  int64_t value = 12345;
  const bool ok = ParseInt64(s, &value);
  EXPECT_EQ(value, 12345) << "output touched on failure for '" << s << "'";
  return !ok;
}

int64_t Int64Of(std::string_view s) {
  int64_t value = 0;
  EXPECT_TRUE(ParseInt64(s, &value)) << "'" << s << "'";
  return value;
}

TEST(ParseInt64Test, AcceptsCanonicalIntegers) {
  EXPECT_EQ(Int64Of("0"), 0);
  EXPECT_EQ(Int64Of("1"), 1);
  EXPECT_EQ(Int64Of("-1"), -1);
  EXPECT_EQ(Int64Of("99"), 99);
  EXPECT_EQ(Int64Of("-99"), -99);
  EXPECT_EQ(Int64Of("1000000"), 1000000);
  EXPECT_EQ(Int64Of("9223372036854775807"), kMax);
  EXPECT_EQ(Int64Of("-9223372036854775808"), kMin);
  EXPECT_EQ(Int64Of("9223372036854775806"), kMax - 1);
  EXPECT_EQ(Int64Of("-9223372036854775807"), kMin + 1);
}

TEST(ParseInt64Test, RejectsOverflowByOne) {
  EXPECT_TRUE(Int64Rejected("9223372036854775808"));
  EXPECT_TRUE(Int64Rejected("-9223372036854775809"));
  EXPECT_TRUE(Int64Rejected("18446744073709551615"));   // UINT64_MAX
  EXPECT_TRUE(Int64Rejected("18446744073709551616"));   // UINT64_MAX + 1
  EXPECT_TRUE(Int64Rejected("99999999999999999999"));   // 20 digits
  EXPECT_TRUE(Int64Rejected("-18446744073709551616"));  // 21 bytes
}

TEST(ParseInt64Test, RejectsNonCanonicalSpellings) {
  EXPECT_TRUE(Int64Rejected(""));
  EXPECT_TRUE(Int64Rejected("-"));
  EXPECT_TRUE(Int64Rejected("+1"));
  EXPECT_TRUE(Int64Rejected("-0"));
  EXPECT_TRUE(Int64Rejected("00"));
  EXPECT_TRUE(Int64Rejected("01"));
  EXPECT_TRUE(Int64Rejected("007"));
  EXPECT_TRUE(Int64Rejected("-01"));
  EXPECT_TRUE(Int64Rejected(" 1"));
  EXPECT_TRUE(Int64Rejected("1 "));
  EXPECT_TRUE(Int64Rejected("1\n"));
  EXPECT_TRUE(Int64Rejected("1.0"));
  EXPECT_TRUE(Int64Rejected("1e3"));
  EXPECT_TRUE(Int64Rejected("0x10"));
  EXPECT_TRUE(Int64Rejected("--1"));
  EXPECT_TRUE(Int64Rejected("1-"));
  EXPECT_TRUE(Int64Rejected("1_000"));
  EXPECT_TRUE(Int64Rejected("1\0"s));
  EXPECT_TRUE(Int64Rejected("\0"s));
  EXPECT_TRUE(Int64Rejected("abc"));
}

TEST(ParseInt64Test, RejectsLongStrings) {
  EXPECT_TRUE(Int64Rejected("1" + std::string(20, '0')));
  EXPECT_TRUE(Int64Rejected(std::string(30, '1')));
  EXPECT_TRUE(Int64Rejected("1." + std::string(30, '0')));
}

TEST(ParseInt64Test, RoundTripsWithFormatting) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    // Spread over all magnitudes, not just huge values.
    const int64_t value = static_cast<int64_t>(rng()) >> (rng() % 64);
    const std::string text = Int64ToString(value);
    int64_t parsed = 0;
    ASSERT_TRUE(ParseInt64(text, &parsed)) << text;
    ASSERT_EQ(parsed, value);
    ASSERT_EQ(text, std::to_string(value));
  }
}

TEST(FormatInt64Test, WritesDecimalAndReturnsEnd) {
  char buf[kInt64MaxChars];
  EXPECT_EQ(std::string(buf, FormatInt64(0, buf)), "0");
  EXPECT_EQ(std::string(buf, FormatInt64(7, buf)), "7");
  EXPECT_EQ(std::string(buf, FormatInt64(10, buf)), "10");
  EXPECT_EQ(std::string(buf, FormatInt64(-10, buf)), "-10");
  EXPECT_EQ(std::string(buf, FormatInt64(99, buf)), "99");
  EXPECT_EQ(std::string(buf, FormatInt64(100, buf)), "100");
  EXPECT_EQ(std::string(buf, FormatInt64(-123456789, buf)), "-123456789");
  EXPECT_EQ(std::string(buf, FormatInt64(kMax, buf)), "9223372036854775807");
  EXPECT_EQ(std::string(buf, FormatInt64(kMin, buf)), "-9223372036854775808");
  EXPECT_EQ(FormatInt64(kMin, buf), buf + kInt64MaxChars);
  EXPECT_EQ(Int64ToString(-1), "-1");
  EXPECT_EQ(Int64ToString(1000000000000000000), "1000000000000000000");
}

TEST(FormatInt64Test, MatchesStdToStringAroundPowersOfTen) {
  int64_t power = 1;
  for (int exponent = 0; exponent <= 18; ++exponent) {
    for (int64_t delta = -1; delta <= 1; ++delta) {
      EXPECT_EQ(Int64ToString(power + delta), std::to_string(power + delta));
      EXPECT_EQ(Int64ToString(-power - delta), std::to_string(-power - delta));
    }
    if (exponent < 18) power *= 10;  // 10^19 does not fit
  }
}

bool DoubleRejected(std::string_view s) {
  double value = 42.5;
  const bool ok = ParseDouble(s, &value);
  EXPECT_EQ(value, 42.5) << "output touched on failure for '" << s << "'";
  return !ok;
}

double DoubleOf(std::string_view s) {
  double value = 0;
  EXPECT_TRUE(ParseDouble(s, &value)) << "'" << s << "'";
  return value;
}

TEST(ParseDoubleTest, AcceptsWhatStrtodAcceptsOverTheWholeString) {
  EXPECT_EQ(DoubleOf("0"), 0.0);
  EXPECT_EQ(DoubleOf("1e3"), 1000.0);
  EXPECT_EQ(DoubleOf("1E3"), 1000.0);
  EXPECT_EQ(DoubleOf("0.1"), 0.1);
  EXPECT_EQ(DoubleOf("+1.5"), 1.5);
  EXPECT_EQ(DoubleOf("-2.25"), -2.25);
  EXPECT_EQ(DoubleOf(".5"), 0.5);
  EXPECT_EQ(DoubleOf("5."), 5.0);
  EXPECT_EQ(DoubleOf("007"), 7.0);
  EXPECT_EQ(DoubleOf("0x10"), 16.0);
  EXPECT_EQ(DoubleOf("0X1.8P1"), 3.0);
  EXPECT_EQ(DoubleOf("1.7976931348623157e308"), std::numeric_limits<double>::max());
  EXPECT_EQ(DoubleOf("123456789012345678"), 123456789012345678.0);
  // Many digits are fine: there is no length limit for doubles.
  EXPECT_EQ(DoubleOf("1." + std::string(6000, '0')), 1.0);
}

// Short plain integers take a fast path that skips strtod; it must give
// exactly strtod's value for every shape it takes, and leave the others
// (too long, signs alone, anything not a digit) to the general path.
TEST(ParseDoubleTest, PlainIntegersGiveStrtodsValue) {
  for (const char* text : {"0", "7", "-7", "+7", "-0", "+0", "000", "0042", "-00100",
                           "999999999999999", "-999999999999999", "9007199254740993",
                           "1234567890123456", "12345678901234567890", "4503599627370497"}) {
    const double expected = std::strtod(text, nullptr);
    const double parsed = DoubleOf(text);
    EXPECT_EQ(parsed, expected) << text;
    EXPECT_EQ(std::signbit(parsed), std::signbit(expected)) << text;
  }
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const int digits = 1 + static_cast<int>(rng() % 17);
    std::string text = (rng() % 2 == 0) ? "-" : "";
    for (int d = 0; d < digits; ++d) text.push_back(static_cast<char>('0' + rng() % 10));
    EXPECT_EQ(DoubleOf(text), std::strtod(text.c_str(), nullptr)) << text;
  }
  EXPECT_TRUE(DoubleRejected("-"));
  EXPECT_TRUE(DoubleRejected("+"));
  EXPECT_TRUE(DoubleRejected("--1"));
  EXPECT_TRUE(DoubleRejected("+-1"));
  EXPECT_TRUE(DoubleRejected("12a"));
  EXPECT_TRUE(DoubleRejected("1 "));
  EXPECT_TRUE(DoubleRejected(std::string_view("12\0", 3)));
}

TEST(ParseDoubleTest, NegativeZeroKeepsItsSign) {
  const double value = DoubleOf("-0");
  EXPECT_EQ(value, 0.0);
  EXPECT_TRUE(std::signbit(value));
}

TEST(ParseDoubleTest, AcceptsInfinitySpellings) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(DoubleOf("inf"), inf);
  EXPECT_EQ(DoubleOf("INF"), inf);
  EXPECT_EQ(DoubleOf("+inf"), inf);
  EXPECT_EQ(DoubleOf("-inf"), -inf);
  EXPECT_EQ(DoubleOf("infinity"), inf);
  EXPECT_EQ(DoubleOf("-Infinity"), -inf);
  EXPECT_TRUE(DoubleRejected("infinit"));
  EXPECT_TRUE(DoubleRejected("infx"));
}

TEST(ParseDoubleTest, RejectsNaN) {
  EXPECT_TRUE(DoubleRejected("nan"));
  EXPECT_TRUE(DoubleRejected("NaN"));
  EXPECT_TRUE(DoubleRejected("-nan"));
  EXPECT_TRUE(DoubleRejected("nan(123)"));
}

TEST(ParseDoubleTest, RejectsOverflowAndUnderflowToZeroButKeepsDenormals) {
  EXPECT_TRUE(DoubleRejected("1e309"));
  EXPECT_TRUE(DoubleRejected("-1.8e308"));
  EXPECT_TRUE(DoubleRejected("0x1p1024"));
  EXPECT_TRUE(DoubleRejected("1e-400"));
  EXPECT_TRUE(DoubleRejected("-1e-400"));
  EXPECT_TRUE(DoubleRejected("2e-324"));
  EXPECT_TRUE(DoubleRejected("0x1p-1075"));
  EXPECT_GT(DoubleOf("1e-310"), 0.0);
  EXPECT_EQ(DoubleOf("0x1p-1074"), std::numeric_limits<double>::denorm_min());
  EXPECT_EQ(DoubleOf("4.9e-324"), std::numeric_limits<double>::denorm_min());
  // An exact zero with a big negative exponent is not an underflow.
  EXPECT_EQ(DoubleOf("0e-400"), 0.0);
}

TEST(ParseDoubleTest, RejectsSpacesGarbageAndEmpty) {
  EXPECT_TRUE(DoubleRejected(""));
  EXPECT_TRUE(DoubleRejected(" 1"));
  EXPECT_TRUE(DoubleRejected("\t1"));
  EXPECT_TRUE(DoubleRejected("\n1"));
  EXPECT_TRUE(DoubleRejected("1 "));
  EXPECT_TRUE(DoubleRejected("1\0"s));
  EXPECT_TRUE(DoubleRejected("1\0abc"s));
  EXPECT_TRUE(DoubleRejected("1e"));
  EXPECT_TRUE(DoubleRejected("1e+"));
  EXPECT_TRUE(DoubleRejected("1,5"));
  EXPECT_TRUE(DoubleRejected("1_000"));
  EXPECT_TRUE(DoubleRejected("0x"));
  EXPECT_TRUE(DoubleRejected("-"));
  EXPECT_TRUE(DoubleRejected("."));
  EXPECT_TRUE(DoubleRejected("abc"));
}

bool LongDoubleRejected(std::string_view s) {
  long double value = 42.5L;
  const bool ok = ParseLongDouble(s, &value);
  EXPECT_EQ(value, 42.5L) << "output touched on failure for '" << s << "'";
  return !ok;
}

long double LongDoubleOf(std::string_view s) {
  long double value = 0;
  EXPECT_TRUE(ParseLongDouble(s, &value)) << "'" << s << "'";
  return value;
}

TEST(ParseLongDoubleTest, AcceptsStrtoldSyntax) {
  EXPECT_EQ(LongDoubleOf("10.5"), 10.5L);
  EXPECT_EQ(LongDoubleOf("+1"), 1.0L);
  EXPECT_EQ(LongDoubleOf("5.0e3"), 5000.0L);
  EXPECT_EQ(LongDoubleOf("0x1p3"), 8.0L);
  EXPECT_EQ(LongDoubleOf("0.1"), 0.1L);  // long double precision, not double
  EXPECT_NE(LongDoubleOf("0.1"), static_cast<long double>(0.1));
  EXPECT_TRUE(std::isinf(LongDoubleOf("inf")));
  EXPECT_TRUE(std::isinf(LongDoubleOf("-infinity")));
}

TEST(ParseLongDoubleTest, RangeIsThatOfLongDouble) {
  EXPECT_GT(LongDoubleOf("1e4900"), 0.0L);
  EXPECT_GT(LongDoubleOf("1e-4940"), 0.0L);  // denormal long double
  EXPECT_TRUE(LongDoubleRejected("1e4933"));
  EXPECT_TRUE(LongDoubleRejected("-1e4933"));
  EXPECT_TRUE(LongDoubleRejected("1e-5000"));
}

TEST(ParseLongDoubleTest, RejectsWhatRedisRejects) {
  EXPECT_TRUE(LongDoubleRejected(""));
  EXPECT_TRUE(LongDoubleRejected("nan"));
  EXPECT_TRUE(LongDoubleRejected(" 1"));
  EXPECT_TRUE(LongDoubleRejected("1 "));
  EXPECT_TRUE(LongDoubleRejected("1\0abc"s));
  EXPECT_TRUE(LongDoubleRejected("0x"));
  EXPECT_TRUE(LongDoubleRejected("1.5x"));
}

TEST(ParseLongDoubleTest, LengthLimitIs5119Bytes) {
  const std::string longest_ok = "1." + std::string(kLongDoubleMaxChars - 3, '0');
  ASSERT_EQ(longest_ok.size(), 5119u);
  EXPECT_EQ(LongDoubleOf(longest_ok), 1.0L);
  EXPECT_TRUE(LongDoubleRejected(longest_ok + "0"));
}

TEST(FormatDoubleTest, UsesPercent17g) {
  EXPECT_EQ(FormatDouble(1.0), "1");
  EXPECT_EQ(FormatDouble(1000.0), "1000");
  EXPECT_EQ(FormatDouble(0.1), "0.10000000000000001");
  EXPECT_EQ(FormatDouble(1.5), "1.5");
  EXPECT_EQ(FormatDouble(-2.25), "-2.25");
  EXPECT_EQ(FormatDouble(1e20), "1e+20");
  EXPECT_EQ(FormatDouble(1e16), "10000000000000000");
  EXPECT_EQ(FormatDouble(1e17), "1e+17");
  EXPECT_EQ(FormatDouble(123456789012345678.0), "1.2345678901234568e+17");
  EXPECT_EQ(FormatDouble(1e-310), "9.9999999999999694e-311");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::denorm_min()), "4.9406564584124654e-324");
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(FormatDouble(0.0), "0");
  EXPECT_EQ(FormatDouble(-0.0), "-0");
}

TEST(FormatDoubleTest, SpellsOutInfinities) {
  EXPECT_EQ(FormatDouble(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatDouble(-std::numeric_limits<double>::infinity()), "-inf");
}

TEST(FormatDoubleTest, BufferVersionFitsAndAgrees) {
  char buf[kDoubleMaxChars];
  const double value = -std::numeric_limits<double>::min();  // longest kind of text
  char* end = FormatDouble(value, buf);
  EXPECT_LE(end - buf, static_cast<ptrdiff_t>(kDoubleMaxChars));
  EXPECT_EQ(std::string(buf, end), "-2.2250738585072014e-308");
  EXPECT_EQ(std::string(buf, FormatDouble(-std::numeric_limits<double>::infinity(), buf)), "-inf");
}

TEST(FormatDoubleTest, TextParsesBackToTheSameDouble) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    double value;
    uint64_t bits = rng();
    std::memcpy(&value, &bits, sizeof(value));
    if (std::isnan(value)) continue;
    double parsed = 0;
    const std::string text = FormatDouble(value);
    ASSERT_TRUE(ParseDouble(text, &parsed)) << text;
    ASSERT_EQ(parsed, value) << text;
  }
}

TEST(FormatLongDoubleHumanTest, TrimsTrailingZeros) {
  EXPECT_EQ(FormatLongDoubleHuman(10.5L), "10.5");
  EXPECT_EQ(FormatLongDoubleHuman(5000.0L), "5000");
  EXPECT_EQ(FormatLongDoubleHuman(-5.5L), "-5.5");
  EXPECT_EQ(FormatLongDoubleHuman(0.0L), "0");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("0.1")), "0.1");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1.23456789012345678901234")),
            "1.23456789012345679");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("9223372036854775807")), "9223372036854775807");
}

TEST(FormatLongDoubleHumanTest, SumsOfTenthsStayShort) {
  // INCRBYFLOAT k 0.1 four times replies 0.1, 0.2, 0.3, 0.4.
  const long double tenth = LongDoubleOf("0.1");
  long double sum = 0;
  const char* expected[] = {"0.1", "0.2", "0.3", "0.4"};
  for (const char* text : expected) {
    sum += tenth;
    EXPECT_EQ(FormatLongDoubleHuman(sum), text);
  }
  EXPECT_EQ(FormatLongDoubleHuman(5000.0L + LongDoubleOf("3.0000000000000001")), "5003");
}

TEST(FormatLongDoubleHumanTest, NeverUsesExponentNotation) {
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1e30")), "1000000000000000000024696061952");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1e19")), "10000000000000000000");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1e4900")).size(), 4901u);
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("-1.18e4932")).size(), 4934u);
}

TEST(FormatLongDoubleHumanTest, TinyValuesRoundToSeventeenDecimals) {
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1.1e-17")), "0.00000000000000001");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("5.1e-18")), "0.00000000000000001");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("-5.1e-18")), "-0.00000000000000001");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("5e-18")), "0");
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("1e-20")), "0");
  // "-0.00000000000000000" trims to "-0", which Redis prints as "0".
  EXPECT_EQ(FormatLongDoubleHuman(LongDoubleOf("-1e-20")), "0");
  EXPECT_EQ(FormatLongDoubleHuman(-0.0L), "0");
}

TEST(FormatLongDoubleHumanTest, SpellsOutInfinities) {
  EXPECT_EQ(FormatLongDoubleHuman(std::numeric_limits<long double>::infinity()), "inf");
  EXPECT_EQ(FormatLongDoubleHuman(-std::numeric_limits<long double>::infinity()), "-inf");
}

TEST(FormatLongDoubleHumanTest, IntegersRoundTripThroughParseInt64) {
  // INCRBYFLOAT results that are whole numbers can later be INCRed.
  for (int64_t value : {int64_t{0}, int64_t{1}, int64_t{-7}, int64_t{1} << 62, kMin}) {
    int64_t parsed = 0;
    EXPECT_TRUE(ParseInt64(FormatLongDoubleHuman(static_cast<long double>(value)), &parsed));
    EXPECT_EQ(parsed, value);
  }
}

}  // namespace
}  // namespace understudy
