// Key extraction from the command table: every registered command yields
// key indexes inside its request, the numkeys commands honour their count,
// bad counts yield nothing, and the derived legacy range / movablekeys
// follow Redis 7.0's rules.
#include <gtest/gtest.h>

#include <cctype>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "server/command_table.h"
#include "server/server.h"

namespace understudy::server {
namespace {

class CommandKeysTest : public ::testing::Test {
 protected:
  CommandKeysTest() { RegisterAllCommands(table_); }

  // The spec a request runs (descending into subcommands), or null.
  const CommandSpec* SpecFor(const std::vector<std::string_view>& args) const {
    return table_.Lookup(args).spec;
  }

  // KeyIndexes of a request given as words.
  std::vector<int> Keys(std::initializer_list<std::string_view> words) const {
    std::vector<std::string_view> args(words);
    const CommandSpec* spec = SpecFor(args);
    EXPECT_NE(spec, nullptr) << args[0];
    std::vector<int> out = {-99};  // KeyIndexes must replace, not append
    if (spec != nullptr) spec->KeyIndexes(args, &out);
    return out;
  }

  // The flags FindKeys reports for the only key of a request.
  uint32_t OnlyKeyFlags(std::initializer_list<std::string_view> words) const {
    std::vector<std::string_view> args(words);
    std::vector<KeyRef> keys;
    EXPECT_TRUE(SpecFor(args)->FindKeys(args, &keys));
    EXPECT_EQ(keys.size(), 1u);
    return keys.empty() ? 0 : keys[0].flags;
  }

  // Every command and subcommand in the table.
  std::vector<const CommandSpec*> AllSpecs() const {
    std::vector<const CommandSpec*> out;
    for (const CommandSpec* spec : table_.all()) {
      out.push_back(spec);
      for (const auto& sub : spec->subcommands) out.push_back(sub.get());
    }
    return out;
  }

  // A request of `argc` arguments that satisfies `spec`'s layout: every
  // key count is 1, everything else a placeholder word.
  static std::vector<std::string> SyntheticRequest(const CommandSpec& spec, int argc) {
    std::vector<std::string> words;
    if (spec.parent != nullptr) words.push_back(spec.parent->name);
    words.push_back(spec.name);
    while (static_cast<int>(words.size()) < argc)
      words.push_back("w" + std::to_string(words.size()));
    for (const KeySpec& key : spec.key_specs) {
      if (key.find == KeySpec::Find::kKeyNum) words[key.index + key.keynum_index] = "1";
    }
    return words;
  }

  static void ExpectIndexesInside(const std::vector<int>& keys, size_t argc,
                                  const std::string& what) {
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_GE(keys[i], 1) << what;
      EXPECT_LT(keys[i], static_cast<int>(argc)) << what;
      if (i > 0) {
        EXPECT_GT(keys[i], keys[i - 1]) << what << ": not in argument order";
      }
    }
  }

  CommandTable table_;
};

TEST_F(CommandKeysTest, EveryCommandFindsItsKeysInsideAValidRequest) {
  int with_keys = 0;
  for (const CommandSpec* spec : AllSpecs()) {
    if (!spec->subcommands.empty()) {
      // A container runs none of its own: its subcommands have the keys.
      EXPECT_FALSE(spec->HasKeys()) << spec->FullName();
      continue;
    }
    // EVAL's family may name no keys (numkeys 0); the synthetic request
    // says 1, so it needs one argument more than the arity.
    const int min_argc =
        (spec->arity > 0 ? spec->arity : -spec->arity) + (spec->has(kCmdNoMandatoryKeys) ? 1 : 0);
    const int max_argc = spec->arity > 0 ? spec->arity : min_argc + 3;
    for (int argc = std::max(min_argc, spec->parent ? 2 : 1); argc <= max_argc; ++argc) {
      std::vector<std::string> words = SyntheticRequest(*spec, argc);
      std::vector<std::string_view> args(words.begin(), words.end());
      ASSERT_EQ(SpecFor(args), spec) << spec->FullName();
      std::vector<int> keys;
      spec->KeyIndexes(args, &keys);
      const std::string what = spec->FullName() + " argc " + std::to_string(argc);
      ExpectIndexesInside(keys, args.size(), what);
      // A command with real keys has at least one in any valid request.
      EXPECT_EQ(!keys.empty(), spec->HasKeys()) << what;
      std::vector<KeyRef> refs;
      EXPECT_TRUE(spec->FindKeys(args, &refs)) << what;
      ASSERT_EQ(refs.size(), keys.size()) << what;
      for (size_t i = 0; i < refs.size(); ++i) {
        EXPECT_EQ(refs[i].index, keys[i]) << what;
        EXPECT_NE(refs[i].flags & (kKeyRO | kKeyRW | kKeyOW | kKeyRM), 0u) << what;
      }
    }
    if (spec->HasKeys()) ++with_keys;
  }
  EXPECT_GT(with_keys, 100);
}

TEST_F(CommandKeysTest, NoCommandReadsOutsideJunkRequests) {
  // Counts and words that trip numkeys parsing: every command, every short
  // length, every filler.
  const std::string_view fillers[] = {"x", "0", "1", "2", "-1", "9", "99999999999", "4294967297"};
  for (const CommandSpec* spec : AllSpecs()) {
    for (int argc = 1; argc <= 7; ++argc) {
      for (std::string_view filler : fillers) {
        std::vector<std::string_view> args(static_cast<size_t>(argc), filler);
        args[0] = spec->parent ? spec->parent->name : spec->name;
        if (spec->parent != nullptr && argc >= 2) args[1] = spec->name;
        std::vector<int> keys;
        spec->KeyIndexes(args, &keys);
        ExpectIndexesInside(keys, args.size(),
                            spec->FullName() + " filled with " + std::string(filler));
      }
    }
  }
}

// Lookup is case-insensitive for ASCII letters only, and exact otherwise,
// at every name length (the index keys names of up to 16 bytes by their
// bytes, longer ones by a prefix plus a comparison).
TEST_F(CommandKeysTest, LookupIgnoresLetterCaseOnlyAtEveryNameLength) {
  for (const CommandSpec* spec : table_.all()) {
    std::string upper = spec->name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(table_.Find(spec->name), spec) << spec->name;
    EXPECT_EQ(table_.Find(upper), spec) << upper;
    std::string mixed = spec->name;
    for (size_t i = 0; i < mixed.size(); i += 2) {
      mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
    }
    EXPECT_EQ(table_.Find(mixed), spec) << mixed;
    // One byte more, one byte less, one byte changed: another name.
    EXPECT_NE(table_.Find(spec->name + "x"), spec);
    EXPECT_NE(table_.Find(spec->name.substr(0, spec->name.size() - 1)), spec);
    std::string changed = spec->name;
    changed.back() = static_cast<char>(changed.back() ^ 0x01);
    EXPECT_NE(table_.Find(changed), spec) << changed;
    // Bytes that differ from a letter only in the case bit are not letters.
    std::string not_letter = spec->name;
    not_letter[0] = static_cast<char>(not_letter[0] & ~0x60);
    EXPECT_EQ(table_.Find(not_letter), nullptr);
  }
  EXPECT_EQ(table_.Find(""), nullptr);
  EXPECT_EQ(table_.Find(std::string(65, 'a')), nullptr);
  EXPECT_EQ(table_.Find(std::string_view("get\0", 4)), nullptr);
  EXPECT_EQ(table_.Find("G\xc5T"), nullptr);
  ASSERT_NE(SpecFor({"CONFIG", "GeT", "x"}), nullptr);
  EXPECT_EQ(SpecFor({"CONFIG", "GeT", "x"})->name, "get");
  EXPECT_EQ(SpecFor({"config", std::string_view("get\0", 4), "x"}), nullptr);
}

// Names longer than the 16 bytes the index keys by (no built-in command
// has one yet) are told apart by their remaining bytes.
TEST(CommandTableTest, LongNamesSharingTheirFirst16BytesAreDistinct) {
  CommandTable table;
  const CommandSpec& first = table.Add({.name = "sixteen-byte-prefix-one", .arity = 1});
  const CommandSpec& second = table.Add({.name = "sixteen-byte-prefix-two", .arity = 1});
  const CommandSpec& short_one = table.Add({.name = "sixteen-byte-pre", .arity = 1});
  EXPECT_EQ(table.Find("SIXTEEN-BYTE-PREFIX-ONE"), &first);
  EXPECT_EQ(table.Find("sixteen-byte-prefix-Two"), &second);
  EXPECT_EQ(table.Find("Sixteen-Byte-Pre"), &short_one);
  EXPECT_EQ(table.Find("sixteen-byte-prefix-on"), nullptr);
  EXPECT_EQ(table.Find("sixteen-byte-prefix-six"), nullptr);
  EXPECT_EQ(table.Find("sixteen-byte-prefix-one!"), nullptr);
}

TEST_F(CommandKeysTest, NumkeysCommands) {
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"}),
            (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(Keys({"zinterstore", "d", "1", "a"}), (std::vector<int>{1, 3}));
  EXPECT_EQ(Keys({"ZDIFFSTORE", "d", "3", "a", "b", "c"}), (std::vector<int>{1, 3, 4, 5}));
  EXPECT_EQ(Keys({"LMPOP", "2", "a", "b", "LEFT"}), (std::vector<int>{2, 3}));
  EXPECT_EQ(Keys({"BLMPOP", "0", "2", "a", "b", "LEFT"}), (std::vector<int>{3, 4}));
  EXPECT_EQ(Keys({"ZMPOP", "1", "a", "MIN", "COUNT", "2"}), (std::vector<int>{2}));
  EXPECT_EQ(Keys({"BZMPOP", "1.5", "3", "a", "b", "c", "MAX"}), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(Keys({"SINTERCARD", "2", "a", "b", "LIMIT", "1"}), (std::vector<int>{2, 3}));
  EXPECT_EQ(Keys({"ZINTER", "2", "a", "b"}), (std::vector<int>{2, 3}));
  EXPECT_EQ(Keys({"ZUNION", "2", "a", "b", "WITHSCORES"}), (std::vector<int>{2, 3}));
  EXPECT_EQ(Keys({"ZDIFF", "1", "a"}), (std::vector<int>{2}));
  EXPECT_EQ(Keys({"ZINTERCARD", "2", "a", "b", "LIMIT", "5"}), (std::vector<int>{2, 3}));
}

TEST_F(CommandKeysTest, BadKeyCountsYieldNoKeys) {
  const std::vector<int> none;
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "3", "a", "b"}), none);  // too large
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "0", "a"}), none);       // zero
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "-1", "a"}), none);      // negative
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "x", "a"}), none);       // not a number
  EXPECT_EQ(Keys({"ZUNIONSTORE", "d", "01", "a"}), none);      // not canonical
  EXPECT_EQ(Keys({"LMPOP", "9223372036854775807", "a", "LEFT"}), none);
  EXPECT_EQ(Keys({"LMPOP", "99999999999999999999", "a", "LEFT"}), none);
  EXPECT_EQ(Keys({"BLMPOP", "0", "4", "a", "b", "LEFT"}), none);
  EXPECT_EQ(Keys({"SINTERCARD", "2", "a"}), none);
  EXPECT_EQ(Keys({"ZINTER", "1x", "a"}), none);
}

TEST_F(CommandKeysTest, FixedAndRangeCommands) {
  EXPECT_EQ(Keys({"GET", "k"}), (std::vector<int>{1}));
  EXPECT_EQ(Keys({"LMOVE", "a", "b", "LEFT", "RIGHT"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"SMOVE", "a", "b", "m"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"RPOPLPUSH", "a", "b"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"BLMOVE", "a", "b", "LEFT", "LEFT", "0"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"SINTERSTORE", "d", "a", "b"}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Keys({"ZRANGESTORE", "d", "s", "0", "-1"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"COPY", "a", "b", "REPLACE"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"MSET", "a", "1", "b", "2"}), (std::vector<int>{1, 3}));
  EXPECT_EQ(Keys({"BLPOP", "a", "b", "0"}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Keys({"DEL", "a", "b", "c"}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Keys({"OBJECT", "ENCODING", "k"}), (std::vector<int>{2}));
  EXPECT_EQ(Keys({"PING"}), std::vector<int>{});
  // Shard channels are not keys.
  EXPECT_EQ(Keys({"SPUBLISH", "ch", "msg"}), std::vector<int>{});
  EXPECT_FALSE(table_.Find("ssubscribe")->HasKeys());
}

TEST_F(CommandKeysTest, KeyFlagsFollowTheRequest) {
  EXPECT_EQ(OnlyKeyFlags({"SET", "k", "v"}), kKeyOW | kKeyUpdate);
  EXPECT_EQ(OnlyKeyFlags({"SET", "k", "v", "NX", "get"}), kKeyRW | kKeyAccess | kKeyUpdate);
  EXPECT_EQ(OnlyKeyFlags({"SET", "k", "get"}), kKeyOW | kKeyUpdate);  // GET as the value
  EXPECT_EQ(OnlyKeyFlags({"GET", "k"}), kKeyRO | kKeyAccess);
  std::vector<std::string_view> args = {"ZUNIONSTORE", "d", "1", "a"};
  std::vector<KeyRef> keys;
  ASSERT_TRUE(table_.Find("zunionstore")->FindKeys(args, &keys));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].flags, kKeyOW | kKeyUpdate);
  EXPECT_EQ(keys[1].flags, kKeyRO | kKeyAccess);
}

TEST_F(CommandKeysTest, LegacyRangeAndMovableKeysAreDerivedLikeRedis) {
  struct Expected {
    std::string_view name;
    int first, last, step;
    bool movable;
  };
  const Expected cases[] = {
      {"get", 1, 1, 1, false},          {"mset", 1, -1, 2, false},      {"lmove", 1, 2, 1, false},
      {"sinterstore", 1, -1, 1, false}, {"zunionstore", 1, 1, 1, true}, {"zunion", 0, 0, 0, true},
      {"blmpop", 0, 0, 0, true},        {"blpop", 1, -2, 1, false},     {"ping", 0, 0, 0, false},
  };
  for (const Expected& want : cases) {
    const CommandSpec* spec = table_.Find(want.name);
    ASSERT_NE(spec, nullptr) << want.name;
    EXPECT_EQ(spec->first_key, want.first) << want.name;
    EXPECT_EQ(spec->last_key, want.last) << want.name;
    EXPECT_EQ(spec->key_step, want.step) << want.name;
    EXPECT_EQ(spec->movable_keys, want.movable) << want.name;
  }
}

TEST_F(CommandKeysTest, TheTableRejectsInconsistentKeySpecs) {
  CommandTable table;
  EXPECT_THROW(table.Add({.name = "a", .arity = 2, .key_specs = {KeyAt(0, kKeyRO)}}),
               std::logic_error);
  EXPECT_THROW(
      table.Add({.name = "b", .arity = 2, .key_specs = {KeyAt(1, kKeyRO | kKeyVariableFlags)}}),
      std::logic_error);
  EXPECT_THROW(
      table.Add({.name = "c", .arity = 2, .key_specs = {KeyAt(1, kKeyRO | kKeyIncomplete)}}),
      std::logic_error);
  EXPECT_THROW(table.Add({.name = "d", .arity = 2, .key_specs = {KeyRange(1, -1, 0, kKeyRO)}}),
               std::logic_error);
  EXPECT_THROW(table.Add({.name = "e", .arity = 2, .first_key = 1}), std::logic_error);
  EXPECT_NO_THROW(table.Add({.name = "f", .arity = -2, .key_specs = {KeysCounted(1, kKeyRO)}}));
}

TEST_F(CommandKeysTest, KeywordSpecsSearchLikeRedis) {
  // No command of ours uses a keyword spec yet; XREAD-style layout.
  CommandTable table;
  KeySpec streams{.flags = kKeyRO | kKeyAccess,
                  .begin = KeySpec::Begin::kKeyword,
                  .keyword = "STREAMS",
                  .start_from = 1,
                  .last_key = -1,
                  .limit = 2};
  const CommandSpec& spec = table.Add({.name = "xr", .arity = -4, .key_specs = {streams}});
  EXPECT_TRUE(spec.movable_keys);
  std::vector<std::string_view> args = {"xr", "COUNT", "1", "streams", "a", "b", "0", "0"};
  std::vector<int> keys;
  spec.KeyIndexes(args, &keys);
  EXPECT_EQ(keys, (std::vector<int>{4, 5}));
  args = {"xr", "COUNT", "1", "a", "0"};
  spec.KeyIndexes(args, &keys);
  EXPECT_TRUE(keys.empty());
}

}  // namespace
}  // namespace understudy::server
