// Key classes: parsing of the words after "class", the canonical text, list
// validation, and the classifier's fast pattern paths checked against
// GlobMatch.
#include "replication/key_class.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/glob.h"
#include "protocol/request_parser.h"

namespace understudy::replication {
namespace {

// Parses `line` (the words after "class") as the config loader would.
bool ParseLine(std::string_view line, KeyClass* out, std::string* error) {
  std::vector<std::string> words;
  if (!protocol::SplitInlineArgs(line, &words)) {
    *error = "unbalanced quotes";
    return false;
  }
  std::vector<std::string_view> views(words.begin(), words.end());
  return ParseKeyClass(views, out, error);
}

KeyClass Parsed(std::string_view line) {
  KeyClass c;
  std::string error;
  EXPECT_TRUE(ParseLine(line, &c, &error)) << line << ": " << error;
  return c;
}

// The error for `line`, or "" when it parses.
std::string ErrorOf(std::string_view line) {
  KeyClass c;
  std::string error;
  return ParseLine(line, &c, &error) ? "" : error;
}

TEST(KeyClassParseTest, NameAndPatternAloneTakeTheDefaults) {
  KeyClass c = Parsed("sessions session:*");
  EXPECT_EQ(c.name, "sessions");
  EXPECT_EQ(c.pattern, "session:*");
  EXPECT_FALSE(c.mirror);
  EXPECT_EQ(c.merge, MergeRule::kLww);
  EXPECT_EQ(c.outage, OutagePolicy::kServe);
  EXPECT_EQ(c.max_staleness_ms, 0);
  EXPECT_EQ(c.conflict, ConflictPolicy::kLocal);
  EXPECT_FALSE(c.near_cache);
  EXPECT_TRUE(c.evict);
}

TEST(KeyClassParseTest, AttributesInAnyOrderAndAnyCase) {
  KeyClass c = Parsed(
      "tokens blacklist:* EVICT no Near-Cache YES outage Reject mirror yes max-staleness 5000 "
      "merge lww conflict PRIMARY");
  EXPECT_TRUE(c.mirror);
  EXPECT_EQ(c.merge, MergeRule::kLww);
  EXPECT_EQ(c.outage, OutagePolicy::kReject);
  EXPECT_EQ(c.max_staleness_ms, 5000);
  EXPECT_EQ(c.conflict, ConflictPolicy::kPrimary);
  EXPECT_TRUE(c.near_cache);
  EXPECT_FALSE(c.evict);

  EXPECT_EQ(Parsed("r rate:* merge counter").merge, MergeRule::kCounter);
  EXPECT_EQ(Parsed("u revoked:* merge UNION").merge, MergeRule::kUnion);
  EXPECT_EQ(Parsed("d a:* conflict local").conflict, ConflictPolicy::kLocal);
  EXPECT_EQ(Parsed("x.y-z_1 \"with space*\"").pattern, "with space*");
}

TEST(KeyClassParseTest, ErrorsNameTheProblem) {
  EXPECT_EQ(ErrorOf(""),
            "a class needs a name and a pattern: class NAME PATTERN [attribute value]...");
  EXPECT_EQ(ErrorOf("onlyname"),
            "a class needs a name and a pattern: class NAME PATTERN [attribute value]...");
  EXPECT_EQ(ErrorOf("s s:* colour blue"),
            "class 's': unknown attribute 'colour' (known: mirror, merge, outage, max-staleness, "
            "conflict, near-cache, evict)");
  EXPECT_EQ(ErrorOf("s s:* mirror maybe"),
            "class 's': bad value 'maybe' for mirror (expected yes or no)");
  EXPECT_EQ(ErrorOf("s s:* merge max"),
            "class 's': bad value 'max' for merge (expected union, lww or counter)");
  EXPECT_EQ(ErrorOf("s s:* outage drop"),
            "class 's': bad value 'drop' for outage (expected serve or reject)");
  EXPECT_EQ(ErrorOf("s s:* conflict remote"),
            "class 's': bad value 'remote' for conflict (expected local or primary)");
  for (std::string_view bad : {"-1", "1.5", "+3", "007", "", "10ms", "99999999999999999999"}) {
    EXPECT_EQ(ErrorOf("s s:* max-staleness \"" + std::string(bad) + "\""),
              "class 's': bad value '" + std::string(bad) +
                  "' for max-staleness (expected a non-negative integer of milliseconds)");
  }
  EXPECT_EQ(ErrorOf("s s:* evict no Evict yes"),
            "class 's': attribute 'evict' is given more than once");
  EXPECT_EQ(ErrorOf("s s:* mirror yes near-cache"),
            "class 's': attribute 'near-cache' needs a value");
  EXPECT_EQ(ErrorOf("s s:* near-cache yes"),
            "class 's': near-cache yes needs mirror yes (reads can only be served from a mirror)");
  EXPECT_EQ(ErrorOf("s s:* near-cache yes mirror no"),
            "class 's': near-cache yes needs mirror yes (reads can only be served from a mirror)");
  EXPECT_EQ(ErrorOf("s s:* merge counter conflict primary"),
            "class 's': conflict primary applies only to merge lww, not to merge counter");
  EXPECT_EQ(ErrorOf("s s:* conflict primary merge union"),
            "class 's': conflict primary applies only to merge lww, not to merge union");
  // conflict local is the default, accepted with every merge rule.
  EXPECT_EQ(ErrorOf("s s:* merge counter conflict local"), "");
  EXPECT_EQ(ErrorOf("s \"\""), "class 's': the pattern is empty");
  EXPECT_EQ(ErrorOf("a:b x:*"),
            "bad class name 'a:b': use letters, digits, '_', '-' and '.' only (the name shows up "
            "in INFO)");
  EXPECT_EQ(ErrorOf("default user:*"),
            "class 'default': the name 'default' is reserved for the class of pattern '*'");
  EXPECT_EQ(ErrorOf("default * mirror yes"), "");
}

TEST(KeyClassParseTest, FailureLeavesTheOutputAlone) {
  KeyClass c;
  c.name = "untouched";
  std::string error;
  std::vector<std::string_view> words = {"s", "s:*", "mirror", "perhaps"};
  EXPECT_FALSE(ParseKeyClass(words, &c, &error));
  EXPECT_EQ(c.name, "untouched");
}

TEST(KeyClassFormatTest, CanonicalTextSpellsOutEveryAttribute) {
  EXPECT_EQ(FormatKeyClass(Parsed("s session:*")),
            "s session:* mirror no merge lww outage serve max-staleness 0 conflict local "
            "near-cache no evict yes");
  EXPECT_EQ(FormatKeyClass(Parsed("t tok:* mirror yes near-cache yes outage reject "
                                  "max-staleness 30000 evict no conflict primary")),
            "t tok:* mirror yes merge lww outage reject max-staleness 30000 conflict primary "
            "near-cache yes evict no");
  EXPECT_EQ(FormatKeyClass(DefaultKeyClass()),
            "default * mirror no merge lww outage serve max-staleness 0 conflict local "
            "near-cache no evict yes");
  auto starts_with = [](const std::string& text, std::string_view prefix) {
    return text.rfind(prefix, 0) == 0;
  };
  const std::string quoted = FormatKeyClass(Parsed("q \"a b\\n\\x01'\\\"\\\\*\""));
  EXPECT_TRUE(starts_with(quoted, "q \"a b\\n\\x01'\\\"\\\\*\" mirror no")) << quoted;
  // Glob escapes stay readable when nothing forces quotes.
  const std::string bare = FormatKeyClass(Parsed("e lit\\*"));
  EXPECT_TRUE(starts_with(bare, "e lit\\* mirror no")) << bare;
}

TEST(KeyClassFormatTest, RandomClassesRoundTripThroughTheirText) {
  std::mt19937 rng(20240611);
  const std::string pattern_bytes = std::string("ab:*?[]\\ \"'\n\t#") + '\x01' + '\xff';
  for (int i = 0; i < 2000; ++i) {
    KeyClass c;
    c.name = "c" + std::to_string(i);
    size_t length = 1 + rng() % 10;
    for (size_t j = 0; j < length; ++j) c.pattern += pattern_bytes[rng() % pattern_bytes.size()];
    c.mirror = rng() % 2;
    c.merge = static_cast<MergeRule>(rng() % 3);
    c.outage = static_cast<OutagePolicy>(rng() % 2);
    c.max_staleness_ms = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng());
    // conflict primary exists for lww only.
    c.conflict = c.merge == MergeRule::kLww ? static_cast<ConflictPolicy>(rng() % 2)
                                            : ConflictPolicy::kLocal;
    c.near_cache = c.mirror && rng() % 2;
    c.evict = rng() % 2;
    const std::string text = FormatKeyClass(c);
    ASSERT_EQ(text.find('\n'), std::string::npos) << text;
    KeyClass back;
    std::string error;
    ASSERT_TRUE(ParseLine(text, &back, &error)) << text << ": " << error;
    EXPECT_EQ(back, c) << text;
  }
}

TEST(KeyClassListTest, NamesAreUniqueAndNothingFollowsACatchAll) {
  std::vector<KeyClass> list = {Parsed("a a:*"), Parsed("b b:*")};
  std::string error;
  EXPECT_TRUE(ValidateKeyClasses(list, &error)) << error;
  EXPECT_FALSE(CheckClassFollows(list, Parsed("a other:*"), &error));
  EXPECT_EQ(error, "class 'a' is defined twice");
  list.push_back(Parsed("rest **"));
  EXPECT_TRUE(ValidateKeyClasses(list, &error)) << error;
  EXPECT_FALSE(CheckClassFollows(list, Parsed("late late:*"), &error));
  EXPECT_EQ(error,
            "class 'late' can never match: class 'rest' before it has pattern '**', which matches "
            "every key (first match wins; put it last)");
  list.push_back(Parsed("late late:*"));
  EXPECT_FALSE(ValidateKeyClasses(list, &error));
}

TEST(KeyClassifierTest, DefaultOnlyClassifiesEverythingAsDefault) {
  KeyClassifier classifier;
  ASSERT_EQ(classifier.classes().size(), 1u);
  EXPECT_EQ(classifier.classes()[0], DefaultKeyClass());
  EXPECT_EQ(classifier.Classify("anything"), 0u);
  EXPECT_EQ(classifier.Classify(""), 0u);
}

TEST(KeyClassifierTest, FirstMatchWinsAndTheDefaultIsAppended) {
  KeyClassifier classifier({Parsed("vip user:1*"), Parsed("users user:*"),
                            Parsed("odd user:?[13579]"), Parsed("exact counter")});
  ASSERT_EQ(classifier.classes().size(), 5u);
  EXPECT_EQ(classifier.classes()[4].name, "default");
  EXPECT_EQ(classifier.ClassOf("user:100").name, "vip");
  EXPECT_EQ(classifier.ClassOf("user:2").name, "users");
  EXPECT_EQ(classifier.ClassOf("user:").name, "users");
  EXPECT_EQ(classifier.ClassOf("user").name, "default");
  EXPECT_EQ(classifier.ClassOf("counter").name, "exact");
  EXPECT_EQ(classifier.ClassOf("counter2").name, "default");
  EXPECT_EQ(classifier.ClassOf("").name, "default");
  // "odd" is shadowed by "users" for every key it matches.
  EXPECT_EQ(classifier.ClassOf("user:x3").name, "users");
}

TEST(KeyClassifierTest, AConfiguredCatchAllReplacesTheDefault) {
  KeyClassifier star({Parsed("s s:*"), Parsed("default * mirror yes outage reject")});
  ASSERT_EQ(star.classes().size(), 2u);
  EXPECT_TRUE(star.ClassOf("zzz").mirror);
  EXPECT_EQ(star.ClassOf("").outage, OutagePolicy::kReject);
  EXPECT_EQ(star.Classify("s:1"), 0u);

  KeyClassifier stars({Parsed("everything ** outage reject")});
  ASSERT_EQ(stars.classes().size(), 1u);
  EXPECT_EQ(stars.ClassOf("").name, "everything");
  EXPECT_EQ(stars.ClassOf("x").name, "everything");

  // A star that is not alone (escaped, or with other bytes) catches less.
  KeyClassifier escaped({Parsed("lit \\*"), Parsed("q *?")});
  ASSERT_EQ(escaped.classes().size(), 3u);
  EXPECT_EQ(escaped.ClassOf("*").name, "lit");
  EXPECT_EQ(escaped.ClassOf("x").name, "q");
  EXPECT_EQ(escaped.ClassOf("").name, "default");
}

TEST(CompiledPatternTest, FastPathsAreChosenWhereAByteCompareDecides) {
  EXPECT_TRUE(CompiledPattern("user:*").is_fast_path());
  EXPECT_TRUE(CompiledPattern("user:***").is_fast_path());
  EXPECT_TRUE(CompiledPattern("exact").is_fast_path());
  EXPECT_TRUE(CompiledPattern("*").catch_all());
  EXPECT_FALSE(CompiledPattern("user:*x").is_fast_path());
  EXPECT_FALSE(CompiledPattern("user:\\*").is_fast_path());
  EXPECT_FALSE(CompiledPattern("a?*").is_fast_path());
  EXPECT_FALSE(CompiledPattern("user:*").catch_all());
}

// The property the fast paths must keep: the same answer as GlobMatch, for
// every non-empty key (the empty key is the one documented difference).
TEST(CompiledPatternTest, AgreesWithGlobMatchOnRandomPatternsAndKeys) {
  std::mt19937 rng(7);
  const std::string pattern_bytes = "ab:*?[]^-\\";
  const std::string key_bytes = "ab:*?[]^-\\c";
  int fast = 0, compared = 0;
  for (int p = 0; p < 3000; ++p) {
    std::string pattern;
    const size_t length = rng() % 7;
    for (size_t i = 0; i < length; ++i) pattern += pattern_bytes[rng() % pattern_bytes.size()];
    // Half of the patterns get the "prefix*" shape, the common case.
    if (p % 2 == 0)
      pattern = std::string(GlobLiteralPrefix(pattern)) + std::string(1 + rng() % 2, '*');
    const CompiledPattern compiled(pattern);
    fast += compiled.is_fast_path();
    for (int k = 0; k < 60; ++k) {
      std::string key;
      // Keys often start with the pattern's literal prefix, so prefix
      // matches are exercised rather than rare.
      if (rng() % 2) key = std::string(GlobLiteralPrefix(pattern));
      const size_t extra = rng() % 6;
      for (size_t i = 0; i < extra; ++i) key += key_bytes[rng() % key_bytes.size()];
      if (key.empty()) {
        EXPECT_EQ(compiled.Matches(key), IsCatchAllPattern(pattern) || pattern.empty())
            << "pattern '" << pattern << "'";
        continue;
      }
      ++compared;
      ASSERT_EQ(compiled.Matches(key), GlobMatch(pattern, key))
          << "pattern '" << pattern << "' key '" << key << "'";
    }
  }
  EXPECT_GT(fast, 1500);
  EXPECT_GT(compared, 150000);
}

}  // namespace
}  // namespace understudy::replication
