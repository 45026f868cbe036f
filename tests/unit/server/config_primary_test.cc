// The key class and primary link directives: loading, CONFIG GET, the rules
// between directives, and CONFIG REWRITE of the repeatable ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "server/config.h"
#include "server/config_directives.h"

namespace understudy::server {
namespace {

using replication::ConflictPolicy;
using replication::MergeRule;
using replication::OutagePolicy;

class ConfigPrimaryTest : public ::testing::Test {
 protected:
  ConfigPrimaryTest() : store_(&config_) {}

  std::string Value(std::string_view name) {
    auto pairs = store_.Get(name);
    EXPECT_EQ(pairs.size(), 1u) << name;
    return pairs.empty() ? "<none>" : pairs[0].second;
  }
  std::string Load(std::string_view text) {
    std::string error;
    return store_.LoadText(text, &error) ? "" : error;
  }
  std::string SetCommand(std::vector<std::string_view> words) {
    std::string error;
    return store_.SetFromCommand(words, &error) ? "" : error;
  }

  Config config_;
  ConfigStore store_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(ConfigPrimaryTest, DefaultsAreStandaloneWithTheDesignsTimings) {
  EXPECT_FALSE(config_.has_primary());
  EXPECT_TRUE(config_.classes.empty());
  EXPECT_EQ(Value("class"), "");
  EXPECT_EQ(Value("primary"), "");
  EXPECT_EQ(Value("primary-user"), "");
  EXPECT_EQ(Value("primary-tls"), "no");
  EXPECT_EQ(Value("primary-timeout"), "200");
  EXPECT_EQ(Value("primary-probe-interval"), "100");
  EXPECT_EQ(Value("primary-probe-max-interval"), "500");
  EXPECT_EQ(Value("primary-connections"), "2");
  EXPECT_EQ(Value("primary-pinned-max"), "256");
  EXPECT_EQ(Value("primary-sentinel"), "");
  EXPECT_EQ(Value("primary-name"), "");
  std::string error;
  EXPECT_TRUE(store_.Validate(&error)) << error;
}

TEST_F(ConfigPrimaryTest, ClassLinesAddClassesInOrderAndGetShowsThemCanonically) {
  ASSERT_EQ(Load("class tokens blacklist:* mirror yes merge union outage serve\n"
                 "# sessions\n"
                 "CLASS sessions session:* MIRROR yes near-cache yes max-staleness 5000 "
                 "conflict primary\n"
                 "class limits \"rate limit:*\" merge counter outage reject evict no\n"),
            "");
  ASSERT_EQ(config_.classes.size(), 3u);
  EXPECT_EQ(config_.classes[0].merge, MergeRule::kUnion);
  EXPECT_TRUE(config_.classes[1].near_cache);
  EXPECT_EQ(config_.classes[1].conflict, ConflictPolicy::kPrimary);
  EXPECT_EQ(config_.classes[1].max_staleness_ms, 5000);
  EXPECT_EQ(config_.classes[2].pattern, "rate limit:*");
  EXPECT_EQ(config_.classes[2].outage, OutagePolicy::kReject);
  EXPECT_EQ(Value("class"),
            "tokens blacklist:* mirror yes merge union outage serve max-staleness 0 conflict "
            "local near-cache no evict yes\n"
            "sessions session:* mirror yes merge lww outage serve max-staleness 5000 conflict "
            "primary near-cache yes evict yes\n"
            "limits \"rate limit:*\" mirror no merge counter outage reject max-staleness 0 "
            "conflict local near-cache no evict no");
}

TEST_F(ConfigPrimaryTest, ABadClassLineIsAStartupErrorNamingTheLine) {
  EXPECT_EQ(Load("port 7000\nclass s session:* mirror maybe\n"),
            "Reading the configuration file, at line 2\n>>> 'class s session:* mirror maybe'\n"
            "class 's': bad value 'maybe' for mirror (expected yes or no)");
  EXPECT_EQ(Load("class\n"),
            "Reading the configuration file, at line 1\n>>> 'class'\n"
            "a class needs a name and a pattern: class NAME PATTERN [attribute value]...");
  config_.classes.clear();
  EXPECT_EQ(Load("class a a:*\nclass b b:*\nclass a c:*\n"),
            "Reading the configuration file, at line 3\n>>> 'class a c:*'\n"
            "class 'a' is defined twice");
  config_.classes.clear();
  EXPECT_EQ(Load("class default * outage reject\nclass late late:*\n"),
            "Reading the configuration file, at line 2\n>>> 'class late late:*'\n"
            "class 'late' can never match: class 'default' before it has pattern '*', which "
            "matches every key (first match wins; put it last)");
}

TEST_F(ConfigPrimaryTest, ClassesChangeOnlyAtStartupForNow) {
  ASSERT_EQ(Load("class s s:*\n"), "");
  EXPECT_EQ(SetCommand({"class", "t t:*"}),
            "CONFIG SET failed (possibly related to argument 'class') - can't set immutable "
            "config");
  EXPECT_EQ(config_.classes.size(), 1u);
}

// The runtime form, for when classes become reloadable: the whole list in
// CONFIG GET's form replaces the list, or nothing changes.
TEST_F(ConfigPrimaryTest, ClassDirectiveGivenWholeListReplacesIt) {
  ASSERT_EQ(Load("class s s:*\n"), "");
  const config_internal::Directive* directive = config_internal::FindDirective("class");
  ASSERT_NE(directive, nullptr);
  std::string error;
  std::string_view bad[] = {"a a:*\nb b:* mirror sometimes"};
  EXPECT_FALSE(directive->set(config_, bad, /*startup=*/false, &error));
  EXPECT_EQ(error, "class 'b': bad value 'sometimes' for mirror (expected yes or no)");
  EXPECT_EQ(config_.classes.size(), 1u);
  std::string_view twice[] = {"a a:*\na b:*"};
  EXPECT_FALSE(directive->set(config_, twice, false, &error));
  EXPECT_EQ(error, "class 'a' is defined twice");

  const std::string shown =
      "x x:* mirror yes merge lww outage serve max-staleness 0 conflict "
      "local near-cache no evict yes\n"
      "y \"y y\" mirror no merge counter outage reject max-staleness 7 "
      "near-cache no evict yes";
  std::string_view good[] = {shown};
  ASSERT_TRUE(directive->set(config_, good, false, &error)) << error;
  ASSERT_EQ(config_.classes.size(), 2u);
  EXPECT_EQ(config_.classes[1].pattern, "y y");
  std::string_view none[] = {""};
  ASSERT_TRUE(directive->set(config_, none, false, &error)) << error;
  EXPECT_TRUE(config_.classes.empty());
}

TEST_F(ConfigPrimaryTest, PrimaryLinkDirectivesLoadAndShow) {
  ASSERT_EQ(Load("primary 10.0.0.5 6379\n"
                 "primary-user proxy\n"
                 "primary-password \"s3 cret\"\n"
                 "primary-tls YES\n"
                 "primary-tls-ca-cert-file /etc/ca.pem\n"
                 "primary-tls-cert-file /etc/client.pem\n"
                 "primary-tls-key-file /etc/client.key\n"
                 "primary-tls-server-name redis.internal\n"
                 "primary-timeout 150\n"
                 "primary-probe-interval 50\n"
                 "primary-probe-max-interval 50\n"
                 "primary-connections 64\n"
                 "primary-pinned-max 1\n"),
            "");
  EXPECT_TRUE(config_.has_primary());
  EXPECT_EQ(config_.primary_host, "10.0.0.5");
  EXPECT_EQ(config_.primary_port, 6379);
  EXPECT_EQ(config_.primary_user, "proxy");
  EXPECT_EQ(config_.primary_password, "s3 cret");
  EXPECT_TRUE(config_.primary_tls);
  EXPECT_EQ(config_.primary_tls_ca_cert_file, "/etc/ca.pem");
  EXPECT_EQ(config_.primary_tls_cert_file, "/etc/client.pem");
  EXPECT_EQ(config_.primary_tls_key_file, "/etc/client.key");
  EXPECT_EQ(config_.primary_tls_server_name, "redis.internal");
  EXPECT_EQ(config_.primary_timeout_ms, 150);
  EXPECT_EQ(config_.primary_probe_interval_ms, 50);
  EXPECT_EQ(config_.primary_probe_max_interval_ms, 50);
  EXPECT_EQ(config_.primary_connections, 64);
  EXPECT_EQ(config_.primary_pinned_max, 1);
  EXPECT_EQ(Value("primary"), "10.0.0.5 6379");
  // As Redis shows requirepass and masterauth.
  EXPECT_EQ(Value("primary-password"), "s3 cret");
  EXPECT_EQ(Value("primary-tls"), "yes");
  auto all = store_.Get("primary*");
  EXPECT_EQ(all.size(), 15u);

  ASSERT_EQ(Load("primary \"\"\n"), "");
  EXPECT_EQ(Value("primary"), "");
  EXPECT_EQ(config_.primary_port, 0);
}

TEST_F(ConfigPrimaryTest, PrimaryLinkValuesAreChecked) {
  auto error_of = [&](std::string_view line) {
    std::string error = Load(line);
    size_t reason = error.rfind('\n');
    return reason == std::string::npos ? error : error.substr(reason + 1);
  };
  EXPECT_EQ(error_of("primary 10.0.0.5"), "primary needs HOST PORT, or \"\" for none");
  EXPECT_EQ(error_of("primary a 1 2"), "primary needs HOST PORT, or \"\" for none");
  EXPECT_EQ(error_of("primary \"\" 6379"), "bad host ''");
  EXPECT_EQ(error_of("primary \"a b\" 6379"), "bad host 'a b'");
  EXPECT_EQ(error_of("primary h 0"),
            "bad port '0': argument must be between 1 and 65535 inclusive");
  EXPECT_EQ(error_of("primary h 65536"),
            "bad port '65536': argument must be between 1 and 65535 inclusive");
  EXPECT_EQ(error_of("primary h x"), "bad port 'x': argument couldn't be parsed into an integer");
  EXPECT_EQ(error_of("primary-timeout 0"), "argument must be between 1 and 2147483647 inclusive");
  EXPECT_EQ(error_of("primary-probe-interval -5"),
            "argument must be between 1 and 2147483647 inclusive");
  EXPECT_EQ(error_of("primary-connections 0"), "argument must be between 1 and 64 inclusive");
  EXPECT_EQ(error_of("primary-connections 65"), "argument must be between 1 and 64 inclusive");
  EXPECT_EQ(error_of("primary-pinned-max 0"),
            "argument must be between 1 and 2147483647 inclusive");
  EXPECT_EQ(error_of("primary-tls maybe"), "argument must be 'yes' or 'no'");
  EXPECT_EQ(error_of("primary-sentinel h"), "primary-sentinel needs HOST PORT");
  EXPECT_FALSE(config_.has_primary());
  EXPECT_EQ(config_.primary_timeout_ms, 200);
}

TEST_F(ConfigPrimaryTest, PrimaryLinkIsStartupOnly) {
  for (std::string_view name : {"primary", "primary-timeout", "primary-password",
                                "primary-sentinel", "primary-connections"}) {
    EXPECT_EQ(SetCommand({name, "1"}), "CONFIG SET failed (possibly related to argument '" +
                                           std::string(name) + "') - can't set immutable config");
  }
}

TEST_F(ConfigPrimaryTest, SentinelsAreRepeatableAndNeedAName) {
  ASSERT_EQ(Load("primary-name mymaster\n"
                 "primary-sentinel 127.0.0.1 26379\n"
                 "primary-sentinel sentinel-2.internal 26380\n"),
            "");
  ASSERT_EQ(config_.primary_sentinels.size(), 2u);
  EXPECT_EQ(config_.primary_sentinels[1], (HostPort{"sentinel-2.internal", 26380}));
  EXPECT_TRUE(config_.has_primary());
  EXPECT_EQ(Value("primary-sentinel"), "127.0.0.1 26379\nsentinel-2.internal 26380");
  EXPECT_EQ(Load("primary-sentinel 127.0.0.1 26379\n"),
            "Reading the configuration file, at line 1\n>>> 'primary-sentinel 127.0.0.1 26379'\n"
            "Sentinel 127.0.0.1 26379 is listed twice");
}

TEST_F(ConfigPrimaryTest, RulesBetweenDirectivesBlameTheLastLineInvolved) {
  EXPECT_EQ(Load("port 7000\n"
                 "primary-sentinel 127.0.0.1 26379\n"
                 "primary-sentinel 127.0.0.1 26380\n"
                 "timeout 5\n"),
            "Reading the configuration file, at line 3\n>>> 'primary-sentinel 127.0.0.1 26380'\n"
            "primary-sentinel needs primary-name, the master's name at the Sentinels");
  std::string error;
  EXPECT_FALSE(store_.Validate(&error));
  EXPECT_EQ(error, "primary-sentinel needs primary-name, the master's name at the Sentinels");

  Config fresh_config;
  ConfigStore fresh(&fresh_config);
  EXPECT_FALSE(fresh.LoadText("primary-sentinel h 1\nprimary-name m\nprimary h 2\n", &error));
  EXPECT_EQ(error,
            "Reading the configuration file, at line 3\n>>> 'primary h 2'\n"
            "primary and primary-sentinel exclude each other: name the primary directly or let "
            "Sentinel find it, not both");

  Config probe_config;
  ConfigStore probe(&probe_config);
  EXPECT_FALSE(
      probe.LoadText("primary-probe-max-interval 500\nprimary-probe-interval 1000\n", &error));
  EXPECT_EQ(error,
            "Reading the configuration file, at line 2\n>>> 'primary-probe-interval 1000'\n"
            "primary-probe-max-interval (500) must not be below primary-probe-interval (1000)");
  // The default cap (2000) is below 5000.
  Config slow_config;
  ConfigStore slow(&slow_config);
  EXPECT_FALSE(slow.LoadText("primary-probe-interval 5000\n", &error));
  EXPECT_TRUE(slow.LoadText("primary-probe-max-interval 5000\n", &error)) << error;

  Config tls_config;
  ConfigStore tls(&tls_config);
  EXPECT_FALSE(tls.LoadText("primary-tls yes\nprimary-tls-cert-file /c.pem\n", &error));
  EXPECT_EQ(error,
            "Reading the configuration file, at line 2\n>>> 'primary-tls-cert-file /c.pem'\n"
            "primary-tls-cert-file and primary-tls-key-file go together: set both or neither");
  EXPECT_TRUE(tls.LoadText("primary-tls-key-file /c.key\n", &error)) << error;
}

TEST_F(ConfigPrimaryTest, CommandLineOptionsAddClassesAfterTheFile) {
  const char* argv[] = {"understudy",        "--class", "s",   "s:*",       "mirror",    "yes",
                        "--class",           "t",       "t:*", "--primary", "127.0.0.1", "6390",
                        "--primary-timeout", "300"};
  std::string error;
  ASSERT_TRUE(store_.LoadCommandLine(14, argv, &error)) << error;
  ASSERT_EQ(config_.classes.size(), 2u);
  EXPECT_TRUE(config_.classes[0].mirror);
  EXPECT_EQ(config_.classes[1].name, "t");
  EXPECT_EQ(config_.primary_port, 6390);
  EXPECT_EQ(config_.primary_timeout_ms, 300);
}

TEST_F(ConfigPrimaryTest, RewriteWritesOneLinePerClassKeepingComments) {
  const std::string file =
      "# tokens: revocations\n"
      "class tokens t:* merge union\n"
      "# sessions\n"
      "class sessions s:*\n"
      "port 7005\n";
  ASSERT_EQ(Load(file), "");
  // Three classes now where the file has two lines: the third follows the
  // last class line; a changed attribute is written in canonical form.
  config_.classes[1].mirror = true;
  config_.classes.push_back(config_.classes[0]);
  config_.classes[2].name = "extra";
  config_.classes[2].pattern = "e *";
  config_.primary_sentinels = {{"127.0.0.1", 26379}, {"127.0.0.1", 26380}};
  config_.primary_name = "mymaster";
  const std::string rewritten = store_.RewriteText(file);
  const std::vector<std::string> got = Lines(rewritten);
  ASSERT_GE(got.size(), 6u) << rewritten;
  EXPECT_EQ(got[0], "# tokens: revocations");
  EXPECT_EQ(got[1],
            "class tokens t:* mirror no merge union outage serve max-staleness 0 conflict local "
            "near-cache no evict yes");
  EXPECT_EQ(got[2], "# sessions");
  EXPECT_EQ(got[3].substr(0, 33), "class sessions s:* mirror yes mer");
  EXPECT_EQ(got[4].substr(0, 26), "class extra \"e *\" mirror n");
  EXPECT_EQ(got[5], "port 7005");
  EXPECT_NE(std::find(got.begin(), got.end(), "primary-sentinel 127.0.0.1 26379"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "primary-sentinel 127.0.0.1 26380"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "primary-name \"mymaster\""), got.end());
  EXPECT_EQ(store_.RewriteText(rewritten), rewritten);

  // The rewritten file reads back to the same configuration.
  Config reloaded;
  ConfigStore reloaded_store(&reloaded);
  std::string error;
  const std::string cwd = std::filesystem::current_path();
  ASSERT_TRUE(reloaded_store.LoadText(rewritten, &error)) << error;
  std::filesystem::current_path(cwd);  // the rewritten `dir` line changes it
  EXPECT_EQ(reloaded.classes, config_.classes);
  EXPECT_EQ(reloaded.primary_sentinels, config_.primary_sentinels);

  // Fewer classes than lines: the surplus lines go, comments stay.
  config_.classes.resize(1);
  config_.primary_sentinels.clear();
  config_.primary_name.clear();
  const std::vector<std::string> fewer = Lines(store_.RewriteText(rewritten));
  EXPECT_EQ(std::count_if(fewer.begin(), fewer.end(),
                          [](const std::string& l) { return l.rfind("class ", 0) == 0; }),
            1);
  EXPECT_NE(std::find(fewer.begin(), fewer.end(), "# sessions"), fewer.end());
  EXPECT_EQ(std::count_if(fewer.begin(), fewer.end(),
                          [](const std::string& l) { return l.rfind("primary-sentinel", 0) == 0; }),
            0);
}

}  // namespace
}  // namespace understudy::server
