// ConfigStore: redis.conf parsing, CONFIG SET/GET semantics and CONFIG
// REWRITE, with redis-server 7.0's exact error texts.
#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace understudy::server {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() : store_(&config_) {}

  // The value CONFIG GET shows for exactly `name`.
  std::string Value(std::string_view name) {
    auto pairs = store_.Get(name);
    EXPECT_EQ(pairs.size(), 1u) << name;
    return pairs.empty() ? "<none>" : pairs[0].second;
  }
  // CONFIG SET with the given name/value words; returns "" or the error.
  std::string SetCommand(std::vector<std::string_view> words) {
    std::string error;
    return store_.SetFromCommand(words, &error) ? "" : error;
  }
  // Loads `text`; returns "" or the error.
  std::string Load(std::string_view text) {
    std::string error;
    return store_.LoadText(text, &error) ? "" : error;
  }

  Config config_;
  ConfigStore store_;
};

TEST_F(ConfigTest, DefaultsAreUnderstudysAndPrintLikeRedis) {
  EXPECT_EQ(Value("port"), "6380");
  EXPECT_EQ(Value("bind"), "127.0.0.1");
  EXPECT_EQ(Value("maxmemory"), "0");
  EXPECT_EQ(Value("maxmemory-policy"), "noeviction");
  EXPECT_EQ(Value("proto-max-bulk-len"), "536870912");
  EXPECT_EQ(Value("save"), "");
  EXPECT_EQ(Value("appendonly"), "no");
  EXPECT_EQ(Value("protected-mode"), "yes");
  EXPECT_EQ(Value("notify-keyspace-events"), "");
}

TEST_F(ConfigTest, LoadsDirectivesCommentsAndQuotes) {
  EXPECT_EQ(Load("# a comment\n"
                 "\n"
                 "   PORT 7001   \n"
                 "bind 127.0.0.1 ::1\n"
                 "requirepass \"se cret\\n\"\n"
                 "maxmemory 100mb\r\n"
                 "logfile ''\n"),
            "");
  EXPECT_EQ(config_.port, 7001);
  EXPECT_EQ(config_.bind, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(config_.requirepass, "se cret\n");
  EXPECT_EQ(config_.maxmemory, 100u * 1024 * 1024);
  EXPECT_EQ(config_.logfile, "");
}

TEST_F(ConfigTest, LoadErrorsNameTheLineAsRedisServerDoes) {
  EXPECT_EQ(Load("port 7000\nfoo bar\n"),
            "Reading the configuration file, at line 2\n>>> 'foo bar'\n"
            "Bad directive or wrong number of arguments");
  EXPECT_EQ(Load("hz 10 20"),
            "Reading the configuration file, at line 1\n>>> 'hz 10 20'\nwrong number of arguments");
  EXPECT_EQ(Load("\n\n  timeout \"abc  \n"),
            "Reading the configuration file, at line 3\n>>> 'timeout \"abc'\n"
            "Unbalanced quotes in configuration line");
  EXPECT_EQ(Load("databases 0"),
            "Reading the configuration file, at line 1\n>>> 'databases 0'\n"
            "argument must be between 1 and 2147483647 inclusive");
  EXPECT_EQ(Load("appendonly 1"),
            "Reading the configuration file, at line 1\n>>> 'appendonly 1'\n"
            "argument must be 'yes' or 'no'");
}

TEST_F(ConfigTest, IntegersFollowString2llStrictly) {
  for (std::string_view bad : {"007", "+5", " 5", "5.0", "", "0x10", "99999999999999999999"}) {
    EXPECT_EQ(SetCommand({"timeout", bad}),
              "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be "
              "parsed into an integer")
        << bad;
  }
  EXPECT_EQ(SetCommand({"timeout", "-1"}),
            "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between "
            "0 and 2147483647 inclusive");
  EXPECT_EQ(SetCommand({"maxclients", "0"}),
            "CONFIG SET failed (possibly related to argument 'maxclients') - argument must be "
            "between 1 and 4294967295 inclusive");
  EXPECT_EQ(SetCommand({"timeout", "30"}), "");
  EXPECT_EQ(config_.timeout, 30);
}

TEST_F(ConfigTest, MemoryValuesUseRedisUnits) {
  struct Case {
    std::string_view text;
    uint64_t bytes;
  };
  for (const Case& c :
       {Case{"1k", 1000}, Case{"1kb", 1024}, Case{"1K", 1000}, Case{"1kB", 1024},
        Case{"2m", 2000000}, Case{"2MB", 2097152}, Case{"1g", 1000000000}, Case{"1GB", 1073741824},
        Case{"7b", 7}, Case{"05", 5}, Case{"", 0}, Case{"k", 0}}) {
    ASSERT_EQ(SetCommand({"maxmemory", c.text}), "") << c.text;
    EXPECT_EQ(config_.maxmemory, c.bytes) << c.text;
  }
  for (std::string_view bad : {"-1", "1.5gb", "1 mb", "0x10", "+5", "1tb", "abc"}) {
    EXPECT_EQ(SetCommand({"maxmemory", bad}),
              "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a "
              "memory value")
        << bad;
  }
  EXPECT_EQ(SetCommand({"proto-max-bulk-len", "1kb"}),
            "CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must "
            "be between 1048576 and 9223372036854775807 inclusive");
}

TEST_F(ConfigTest, HzIsClampedLikeRedis) {
  EXPECT_EQ(SetCommand({"hz", "0"}), "");
  EXPECT_EQ(Value("hz"), "1");
  EXPECT_EQ(SetCommand({"hz", "1000"}), "");
  EXPECT_EQ(Value("hz"), "500");
  EXPECT_EQ(SetCommand({"hz", "20"}), "");
  EXPECT_EQ(config_.hz, 20);
}

TEST_F(ConfigTest, EnumsAreCaseInsensitiveAndListTheirChoices) {
  EXPECT_EQ(SetCommand({"maxmemory-policy", "ALLKEYS-LRU"}), "");
  EXPECT_EQ(Value("maxmemory-policy"), "allkeys-lru");
  EXPECT_EQ(SetCommand({"loglevel", "nothing"}),
            "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one "
            "of the following: debug, verbose, notice, warning");
  EXPECT_EQ(config_.loglevel, "notice");
}

TEST_F(ConfigTest, KeyspaceEventsPrintCanonically) {
  struct Case {
    std::string_view in, out;
  };
  for (const Case& c :
       {Case{"KEA", "AKE"}, Case{"Ex", "xE"}, Case{"nK", "nK"}, Case{"AnmdK", "AKm"},
        Case{"g$lshzxetd", "A"}, Case{"te", "et"}, Case{"dnEK$g", "g$dnKE"}, Case{"", ""}}) {
    ASSERT_EQ(SetCommand({"notify-keyspace-events", c.in}), "") << c.in;
    EXPECT_EQ(Value("notify-keyspace-events"), c.out) << c.in;
  }
  EXPECT_EQ(SetCommand({"notify-keyspace-events", "Q"}),
            "CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid "
            "event class character. Use 'Ag$lshzxeKEtmdn'.");
}

TEST_F(ConfigTest, SaveParsesPairsAndAccumulatesInAFile) {
  EXPECT_EQ(SetCommand({"save", "3600 1 300 100"}), "");
  EXPECT_EQ(Value("save"), "3600 1 300 100");
  for (std::string_view bad : {"100", "a b", "1 2 3", "-1 2", "0 5", "  "}) {
    EXPECT_EQ(SetCommand({"save", bad}),
              "CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters")
        << bad;
  }
  EXPECT_EQ(Value("save"), "3600 1 300 100");
  EXPECT_EQ(SetCommand({"save", ""}), "");
  EXPECT_EQ(Value("save"), "");
  EXPECT_EQ(Load("save 900 1\nsave 300 10\n"), "");
  EXPECT_EQ(Value("save"), "900 1 300 10");
  EXPECT_EQ(Load("save \"\"\n"), "");
  EXPECT_EQ(Value("save"), "");
}

TEST_F(ConfigTest, UnsupportedPersistenceIsRefusedNotIgnored) {
  EXPECT_NE(Load("appendonly yes"), "");
  EXPECT_NE(Load("cluster-enabled yes"), "");
  EXPECT_EQ(Load("appendonly no\ncluster-enabled no"), "");
}

TEST_F(ConfigTest, ConfigSetChecksAllNamesBeforeAnyValue) {
  EXPECT_EQ(SetCommand({"timeout", "abc", "foo", "1"}),
            "Unknown option or number of arguments for CONFIG SET - 'foo'");
  EXPECT_EQ(SetCommand({"databases", "1", "foo", "1"}),
            "CONFIG SET failed (possibly related to argument 'databases') - can't set immutable "
            "config");
  EXPECT_EQ(SetCommand({"DATABASES", "1"}),
            "CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable "
            "config");
  EXPECT_EQ(SetCommand({"Timeout", "1", "timeout", "2"}),
            "CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter");
  EXPECT_EQ(SetCommand({"dir", "/"}),
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config");
  // A value error names the directive's own spelling.
  EXPECT_EQ(SetCommand({"TIMEOUT", "abc"}),
            "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be "
            "parsed into an integer");
  EXPECT_EQ(config_.timeout, 0);
}

TEST_F(ConfigTest, ConfigSetIsAllOrNothing) {
  EXPECT_EQ(SetCommand({"maxmemory", "100mb", "timeout", "abc"}),
            "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be "
            "parsed into an integer");
  EXPECT_EQ(config_.maxmemory, 0u);
  EXPECT_EQ(SetCommand({"maxmemory", "100mb", "timeout", "30"}), "");
  EXPECT_EQ(config_.maxmemory, 100u * 1024 * 1024);
  EXPECT_EQ(config_.timeout, 30);
}

TEST_F(ConfigTest, GetMatchesPatternsOnceEachAndKeepsExactSpelling) {
  std::vector<std::string_view> patterns = {"maxmemory-p*", "MAXMEMORY", "maxmemory"};
  auto pairs = store_.GetMatching(patterns);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].first, "maxmemory-policy");
  EXPECT_EQ(pairs[1].first, "MAXMEMORY");
  EXPECT_TRUE(store_.Get("nosuchparameter").empty());
  EXPECT_EQ(store_.Get("TIMEOU?").at(0).first, "timeout");
  size_t all = store_.Get("*").size();
  EXPECT_GT(all, 30u);
  std::vector<std::string_view> twice = {"*", "*"};
  EXPECT_EQ(store_.GetMatching(twice).size(), all);
}

TEST_F(ConfigTest, CommandLineBecomesLinesAfterTheFile) {
  const char* argv[] = {"understudy", "--port", "7002", "--bind", "127.0.0.1", "::1", "--save"};
  std::string error;
  ASSERT_TRUE(store_.LoadCommandLine(7, argv, &error)) << error;
  EXPECT_EQ(config_.port, 7002);
  EXPECT_EQ(config_.bind.size(), 2u);
  EXPECT_EQ(config_.save, "");

  const char* bad[] = {"understudy", "--port", "abc"};
  EXPECT_FALSE(store_.LoadCommandLine(3, bad, &error));
  EXPECT_EQ(error,
            "Reading the configuration file, at line 2\n>>> 'port \"abc\"'\n"
            "argument couldn't be parsed into an integer");
}

TEST_F(ConfigTest, MissingConfigFileIsReported) {
  std::string error;
  EXPECT_FALSE(store_.LoadFile("/nonexistent/understudy.conf", &error));
  EXPECT_EQ(error,
            "Fatal error, can't open config file '/nonexistent/understudy.conf': No such file or "
            "directory");
}

TEST_F(ConfigTest, RewriteKeepsCommentsReplacesInPlaceAndAppendsTheRest) {
  ASSERT_EQ(Load("port 7003\ntimeout 5\n"), "");
  config_.timeout = 60;
  config_.maxmemory = 100 * 1024 * 1024;
  config_.requirepass = "p w\"d";
  std::string rewritten = store_.RewriteText(
      "# my comment\n"
      "port 7003\n"
      "\n"
      "TIMEOUT 5   # old\n"
      "timeout 7\n");
  std::istringstream lines(rewritten);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_GE(got.size(), 7u) << rewritten;
  EXPECT_EQ(got[0], "# my comment");
  EXPECT_EQ(got[1], "port 7003");
  EXPECT_EQ(got[2], "");
  EXPECT_EQ(got[3], "timeout 60");
  EXPECT_EQ(got[4], "# Generated by CONFIG REWRITE");
  // The repeated timeout line is gone; the non-defaults are appended.
  EXPECT_EQ(std::count(got.begin(), got.end(), "timeout 7"), 0);
  EXPECT_NE(std::find(got.begin(), got.end(), "maxmemory 100mb"), got.end()) << rewritten;
  EXPECT_NE(std::find(got.begin(), got.end(), "requirepass \"p w\\\"d\""), got.end()) << rewritten;
  EXPECT_NE(std::find_if(got.begin(), got.end(),
                         [](const std::string& l) { return l.rfind("dir \"", 0) == 0; }),
            got.end());
  EXPECT_EQ(std::find(got.begin(), got.end(), "hz 10"), got.end()) << "defaults stay out";
  // Rewriting its own output changes nothing.
  EXPECT_EQ(store_.RewriteText(rewritten), rewritten);
}

TEST_F(ConfigTest, RewriteReplacesTheFileAndTheResultLoadsBack) {
  std::string error;
  EXPECT_FALSE(store_.Rewrite(&error));
  EXPECT_EQ(error, "The server is running without a config file");

  char path_template[] = "/tmp/understudy-config-test-XXXXXX";
  int fd = ::mkstemp(path_template);
  ASSERT_GE(fd, 0);
  const std::string path = path_template;
  const std::string original = "# keep me\nport 7004\nmaxmemory-policy allkeys-lru\n";
  ASSERT_EQ(::write(fd, original.data(), original.size()), static_cast<ssize_t>(original.size()));
  ::close(fd);

  ASSERT_TRUE(store_.LoadFile(path, &error)) << error;
  EXPECT_EQ(config_.config_file, path);
  ASSERT_EQ(SetCommand({"maxmemory-policy", "volatile-ttl", "hz", "25", "save", "60 5"}), "");
  ASSERT_TRUE(store_.Rewrite(&error)) << error;

  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str().rfind("# keep me\nport 7004\nmaxmemory-policy volatile-ttl\n", 0), 0u)
      << content.str();

  Config reloaded;
  ConfigStore reloaded_store(&reloaded);
  ASSERT_TRUE(reloaded_store.LoadFile(path, &error)) << error;
  EXPECT_EQ(reloaded.port, 7004);
  EXPECT_EQ(reloaded.maxmemory_policy, "volatile-ttl");
  EXPECT_EQ(reloaded.hz, 25);
  EXPECT_EQ(reloaded.save, "60 5");
  std::filesystem::remove(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp-" + std::to_string(::getpid())));
}

// deploy/understudy.conf must load and document every directive.
TEST_F(ConfigTest, ExampleConfigLoadsAndCoversEveryDirective) {
  const std::filesystem::path example =
      std::filesystem::path(__FILE__).parent_path() / "../../../deploy/understudy.conf";
  std::ifstream in(example);
  ASSERT_TRUE(in) << example;
  std::stringstream content;
  content << in.rdbuf();
  const std::string cwd = std::filesystem::current_path();
  std::string error;
  ASSERT_TRUE(store_.LoadText(content.str(), &error)) << error;
  std::filesystem::current_path(cwd);  // the file's `dir` line changes it
  for (const auto& [name, value] : store_.Get("*")) {
    // Either set on a line of its own or shown commented out.
    bool present = content.str().find("\n" + name + " ") != std::string::npos ||
                   content.str().find("\n# " + name + " ") != std::string::npos;
    EXPECT_TRUE(present) << name << " is not in deploy/understudy.conf";
  }
}

}  // namespace
}  // namespace understudy::server
