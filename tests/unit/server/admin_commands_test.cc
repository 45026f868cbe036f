// Connection and server commands (HELLO, AUTH, SELECT, SWAPDB, RESET,
// CLIENT, CONFIG, INFO, COMMAND, FLUSH*, SHUTDOWN) driven through
// Server::Execute, comparing the exact reply bytes.
#include <gtest/gtest.h>

#include <initializer_list>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/server.h"
#include "tests/unit/server/server_test_support.h"

namespace understudy::server {
namespace {

class AdminCommandsTest : public ::testing::Test {
 protected:
  explicit AdminCommandsTest(Config config = Config{})
      : server_(std::move(config), &clock_), client_(server_.AddClient()) {}

  std::string Run(ClientSession& client, std::initializer_list<std::string_view> args) {
    return testing_support::RunRequest(server_, client, args);
  }
  std::string Run(std::initializer_list<std::string_view> args) { return Run(client_, args); }

  // The bulk or verbatim payload of a reply (without the "txt:" prefix).
  static std::string Payload(const std::string& reply) {
    size_t start = reply.find("\r\n") + 2;
    std::string body = reply.substr(start, reply.size() - start - 2);
    if (reply[0] == '=') body = body.substr(4);
    return body;
  }

  ManualClock clock_;
  Server server_;
  ClientSession& client_;
};

TEST_F(AdminCommandsTest, PingAndEcho) {
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"ping", "hi there"}), "$8\r\nhi there\r\n");
  EXPECT_EQ(Run({"PING", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
  EXPECT_EQ(Run({"ECHO", ""}), "$0\r\n\r\n");
}

TEST_F(AdminCommandsTest, HelloSwitchesProtocolAndAnswersInTheNewOne) {
  const std::string id = std::to_string(client_.id());
  EXPECT_EQ(Run({"HELLO", "3"}),
            "%7\r\n$6\r\nserver\r\n$10\r\nunderstudy\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
            "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:" +
                id +
                "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
  EXPECT_EQ(client_.resp, protocol::RespVersion::kResp3);
  EXPECT_EQ(Run({"GET", "missing"}), "_\r\n");
  // HELLO alone keeps the protocol.
  EXPECT_EQ(Run({"HELLO"}).substr(0, 3), "%7\r");
  EXPECT_EQ(Run({"HELLO", "2"}).substr(0, 4), "*14\r");
  EXPECT_EQ(Run({"GET", "missing"}), "$-1\r\n");
}

TEST_F(AdminCommandsTest, HelloErrors) {
  EXPECT_EQ(Run({"HELLO", "4"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(Run({"HELLO", "1", "FOO"}), "-NOPROTO unsupported protocol version\r\n");
  EXPECT_EQ(Run({"HELLO", "3.0"}), "-ERR Protocol version is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"HELLO", "3", "AUTH", "default"}), "-ERR Syntax error in HELLO option 'AUTH'\r\n");
  EXPECT_EQ(Run({"HELLO", "3", "SETNAME"}), "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
  EXPECT_EQ(Run({"HELLO", "3", "AUTH", "bob", "pw"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(Run({"HELLO", "3", "SETNAME", "a b"}),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  EXPECT_EQ(client_.resp, protocol::RespVersion::kResp2);
  EXPECT_EQ(Run({"HELLO", "2", "SETNAME", "a", "SETNAME", "b"}).substr(0, 4), "*14\r");
  EXPECT_EQ(client_.name, "b");
}

TEST_F(AdminCommandsTest, AuthWithoutPassword) {
  EXPECT_EQ(Run({"AUTH", "x"}),
            "-ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?\r\n");
  EXPECT_EQ(Run({"AUTH", "default", "anything"}), "+OK\r\n");
  EXPECT_EQ(Run({"AUTH", "bob", "x"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(Run({"AUTH", "a", "b", "c"}), "-ERR syntax error\r\n");
}

class PasswordTest : public AdminCommandsTest {
 protected:
  static Config WithPassword() {
    Config config;
    config.requirepass = "s3cret";
    return config;
  }
  PasswordTest() : AdminCommandsTest(WithPassword()) {}
};

TEST_F(PasswordTest, AuthHelloAndResetGateCommands) {
  EXPECT_EQ(Run({"PING"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(Run({"HELLO", "3"}),
            "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
            "RESP protocol version at the same time\r\n");
  EXPECT_EQ(Run({"AUTH", "wrong"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(Run({"HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"}).substr(0, 3), "%7\r");
  EXPECT_EQ(client_.name, "me");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  // A failed AUTH does not log an authenticated client out.
  EXPECT_EQ(Run({"AUTH", "nope"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(client_.resp, protocol::RespVersion::kResp2);
  EXPECT_EQ(Run({"PING"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(Run({"AUTH", "s3cret"}), "+OK\r\n");
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
}

TEST_F(PasswordTest, ClearingRequirepassLetsEveryoneIn) {
  ClientSession& other = server_.AddClient();
  ASSERT_EQ(Run({"AUTH", "s3cret"}), "+OK\r\n");
  EXPECT_EQ(Run(other, {"GET", "k"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "requirepass", ""}), "+OK\r\n");
  EXPECT_EQ(Run(other, {"GET", "k"}), "$-1\r\n");
  // Setting one again keeps connected clients in, as Redis does.
  EXPECT_EQ(Run({"CONFIG", "SET", "requirepass", "new"}), "+OK\r\n");
  EXPECT_EQ(Run(other, {"GET", "k"}), "$-1\r\n");
  ClientSession& late = server_.AddClient();
  EXPECT_EQ(Run(late, {"GET", "k"}), "-NOAUTH Authentication required.\r\n");
}

TEST_F(AdminCommandsTest, SelectAndItsErrors) {
  EXPECT_EQ(Run({"SELECT", "15"}), "+OK\r\n");
  EXPECT_EQ(client_.db_index, 15);
  EXPECT_EQ(Run({"SELECT", "16"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"SELECT", "-1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(Run({"SELECT", "1.5"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"SELECT", "4294967296"}),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
  EXPECT_EQ(client_.db_index, 15);
}

TEST_F(AdminCommandsTest, SwapDbMovesDataAndDirtiesWatchers) {
  ClientSession& watcher = server_.AddClient();
  ASSERT_EQ(Run({"SET", "k", "zero"}), "+OK\r\n");
  ASSERT_EQ(Run(watcher, {"SELECT", "1"}), "+OK\r\n");
  ASSERT_EQ(Run(watcher, {"WATCH", "k"}), "+OK\r\n");  // absent in db 1 for now
  EXPECT_EQ(Run({"SWAPDB", "0", "1"}), "+OK\r\n");
  EXPECT_TRUE(watcher.watch_dirty) << "k appears in db 1";
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run(watcher, {"GET", "k"}), "$4\r\nzero\r\n");
  EXPECT_EQ(Run({"SWAPDB", "a", "0"}), "-ERR invalid first DB index\r\n");
  EXPECT_EQ(Run({"SWAPDB", "0", "4294967296"}), "-ERR invalid second DB index\r\n");
  EXPECT_EQ(Run({"SWAPDB", "0", "16"}), "-ERR DB index is out of range\r\n");
}

TEST_F(AdminCommandsTest, FlushDirtiesOnlyWatchersOfKeysThatExisted) {
  ClientSession& absent = server_.AddClient();
  ClientSession& present = server_.AddClient();
  ASSERT_EQ(Run({"SET", "here", "1"}), "+OK\r\n");
  ASSERT_EQ(Run(absent, {"WATCH", "nothere"}), "+OK\r\n");
  ASSERT_EQ(Run(present, {"WATCH", "here"}), "+OK\r\n");
  EXPECT_EQ(Run({"FLUSHALL", "ASYNC"}), "+OK\r\n");
  EXPECT_FALSE(absent.watch_dirty);
  EXPECT_TRUE(present.watch_dirty);
  EXPECT_EQ(Run({"FLUSHDB", "FOO"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"FLUSHDB", "ASYNC", "SYNC"}), "-ERR syntax error\r\n");
  ASSERT_EQ(Run({"SET", "a", "1"}), "+OK\r\n");
  ASSERT_EQ(Run({"SELECT", "3"}), "+OK\r\n");
  ASSERT_EQ(Run({"SET", "b", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"FLUSHDB"}), "+OK\r\n");
  EXPECT_EQ(server_.db(3).size(), 0u);
  EXPECT_EQ(server_.db(0).size(), 1u);
}

TEST_F(AdminCommandsTest, ResetClearsConnectionState) {
  ASSERT_EQ(Run({"SELECT", "3"}), "+OK\r\n");
  ASSERT_EQ(Run({"CLIENT", "SETNAME", "x"}), "+OK\r\n");
  ASSERT_EQ(Run({"WATCH", "k"}), "+OK\r\n");
  ASSERT_EQ(Run({"MULTI"}), "+OK\r\n");
  ASSERT_EQ(Run({"SET", "k", "v"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_FALSE(client_.in_multi);
  EXPECT_TRUE(client_.watched.empty());
  EXPECT_EQ(client_.db_index, 0);
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
}

TEST_F(AdminCommandsTest, QuitClosesAfterReplyEvenInMulti) {
  ASSERT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(client_.close_after_reply);
}

TEST_F(AdminCommandsTest, ClientNameRules) {
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "~!@#$%^&*()_+{}|:<>?"}), "+OK\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$20\r\n~!@#$%^&*()_+{}|:<>?\r\n");
  for (std::string_view bad : {"a b", "a\nb", "\x7f", "\x01x", "caf\xc3\xa9"}) {
    EXPECT_EQ(Run({"CLIENT", "SETNAME", bad}),
              "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  }
  EXPECT_EQ(Run({"CLIENT", "SETNAME", ""}), "+OK\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(Run({"CLIENT", "ID"}), ":" + std::to_string(client_.id()) + "\r\n");
}

TEST_F(AdminCommandsTest, ClientListHasRedisFieldsInOrder) {
  ClientSession& other = server_.AddClient();
  other.peer_address = "127.0.0.1:5000";
  ASSERT_EQ(Run({"CLIENT", "SETNAME", "me"}), "+OK\r\n");
  ASSERT_EQ(Run(other, {"SELECT", "2"}), "+OK\r\n");
  clock_.AdvanceMs(3000);
  std::string list = Payload(Run({"CLIENT", "LIST"}));
  std::regex line(
      "id=(\\d+) addr=\\S* laddr=\\S* fd=-?\\d+ name=(\\S*) age=(\\d+) idle=\\d+ flags=N db=(\\d+) "
      "sub=0 psub=0 ssub=0 multi=-1 qbuf=\\d+ qbuf-free=\\d+ argv-mem=\\d+ multi-mem=\\d+ "
      "rbs=\\d+ rbp=\\d+ obl=\\d+ oll=\\d+ omem=\\d+ tot-mem=\\d+ events=rw? cmd=(\\S+) "
      "user=default redir=-1 resp=2\n");
  auto begin = std::sregex_iterator(list.begin(), list.end(), line);
  std::vector<std::smatch> lines(begin, std::sregex_iterator());
  ASSERT_EQ(lines.size(), 2u) << list;
  EXPECT_EQ(lines[0][1], std::to_string(client_.id()));
  EXPECT_EQ(lines[0][2], "me");
  EXPECT_EQ(lines[0][3], "3");
  EXPECT_EQ(lines[0][5], "client|list");
  EXPECT_EQ(lines[1][4], "2");
  EXPECT_EQ(lines[0].length(0) + lines[1].length(0), list.size());

  std::string by_id = Payload(Run({"CLIENT", "LIST", "ID", std::to_string(other.id()), "999"}));
  EXPECT_NE(by_id.find("addr=127.0.0.1:5000 "), std::string::npos);
  EXPECT_EQ(std::count(by_id.begin(), by_id.end(), '\n'), 1);
  EXPECT_EQ(Run({"CLIENT", "LIST", "ID", "abc"}), "-ERR Invalid client ID\r\n");
  EXPECT_EQ(Run({"CLIENT", "LIST", "TYPE", "pubsub"}), "$0\r\n\r\n");
  EXPECT_EQ(Run({"CLIENT", "LIST", "TYPE", "foo"}), "-ERR Unknown client type 'foo'\r\n");
  EXPECT_EQ(Run({"CLIENT", "LIST", "FOO"}), "-ERR syntax error\r\n");

  ASSERT_EQ(Run(other, {"MULTI"}), "+OK\r\n");
  ASSERT_EQ(Run(other, {"SET", "k", "v"}), "+QUEUED\r\n");
  std::string in_multi = Payload(Run({"CLIENT", "LIST", "ID", std::to_string(other.id())}));
  EXPECT_NE(in_multi.find(" flags=x "), std::string::npos) << in_multi;
  EXPECT_NE(in_multi.find(" multi=1 "), std::string::npos) << in_multi;
}

TEST_F(AdminCommandsTest, ClientKillFormsAndFilters) {
  ClientSession& victim = server_.AddClient();
  victim.peer_address = "127.0.0.1:6000";
  EXPECT_EQ(Run({"CLIENT", "KILL", "127.0.0.1:1"}), "-ERR No such client\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "ID", "abc"}), "-ERR client-id should be greater than 0\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "ID", "0"}), "-ERR client-id should be greater than 0\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "TYPE", "x"}), "-ERR Unknown client type 'x'\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "USER", "bob"}), "-ERR No such user 'bob'\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "SKIPME", "maybe"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"CLIENT", "KILL", "ID", "1", "SKIPME"}), "-ERR syntax error\r\n");
  EXPECT_FALSE(victim.close_after_reply);
  // New form, self skipped by default.
  EXPECT_EQ(Run({"CLIENT", "KILL", "TYPE", "normal"}), ":1\r\n");
  EXPECT_TRUE(victim.close_after_reply);
  EXPECT_FALSE(client_.close_after_reply);
  EXPECT_EQ(Run({"CLIENT", "KILL", "ID", std::to_string(client_.id()), "SKIPME", "no"}), ":1\r\n");
  EXPECT_TRUE(client_.close_after_reply);
}

TEST_F(AdminCommandsTest, ClientExtrasAndHelp) {
  EXPECT_EQ(Run({"CLIENT", "NO-EVICT", "on"}), "+OK\r\n");
  EXPECT_EQ(Run({"CLIENT", "NO-EVICT", "maybe"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETINFO", "LIB-NAME", "redis-py"}), "+OK\r\n");
  EXPECT_EQ(client_.lib_name, "redis-py");
  EXPECT_EQ(Run({"CLIENT", "SETINFO", "lib-ver", "a b"}),
            "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n");
  EXPECT_EQ(Run({"CLIENT", "SETINFO", "foo", "x"}), "-ERR Unrecognized option 'foo'\r\n");
  EXPECT_EQ(Run({"CLIENT", "GETREDIR"}), ":-1\r\n");
  EXPECT_EQ(
      Run({"CLIENT", "TRACKINGINFO"}),
      "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n");
  EXPECT_EQ(Run({"CLIENT", "UNBLOCK", "1", "foo"}),
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
  EXPECT_EQ(Run({"CLIENT", "UNBLOCK", "1"}), ":0\r\n");
  std::string help = Run({"CLIENT", "HELP"});
  EXPECT_EQ(help.find("+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"),
            help.find("\r\n") + 2);
  EXPECT_NE(help.find("+HELP\r\n+    Prints this help.\r\n"), std::string::npos);
  EXPECT_EQ(Run({"CLIENT", "NOSUCH"}), "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n");
  EXPECT_EQ(Run({"CLIENT"}), "-ERR wrong number of arguments for 'client' command\r\n");
}

TEST_F(AdminCommandsTest, ConfigCommands) {
  EXPECT_EQ(Run({"CONFIG", "GET", "maxmemory"}), "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "1mb", "timeout"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "maxmemory", "1mb"}), "+OK\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "MAXMEMORY"}), "*2\r\n$9\r\nMAXMEMORY\r\n$7\r\n1048576\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "foo", "1"}),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
  EXPECT_EQ(Run({"CONFIG", "REWRITE"}), "-ERR The server is running without a config file\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET"}), "-ERR wrong number of arguments for 'config|get' command\r\n");
  ASSERT_EQ(Run({"HELLO", "3"}).substr(0, 3), "%7\r");
  EXPECT_EQ(Run({"CONFIG", "GET", "hz"}), "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
}

TEST_F(AdminCommandsTest, ConfigResetStatZeroesCounters) {
  ASSERT_EQ(Run({"GET", "missing"}), "$-1\r\n");
  EXPECT_GT(server_.stats().total_commands_processed, 0u);
  EXPECT_EQ(server_.db(0).stats().keyspace_misses, 1u);
  EXPECT_EQ(Run({"CONFIG", "RESETSTAT"}), "+OK\r\n");
  EXPECT_EQ(server_.db(0).stats().keyspace_misses, 0u);
  EXPECT_EQ(server_.stats().total_commands_processed, 1u);  // RESETSTAT itself
}

TEST_F(AdminCommandsTest, InfoSections) {
  ASSERT_EQ(Run({"SET", "a", "1"}), "+OK\r\n");
  ASSERT_EQ(Run({"SELECT", "5"}), "+OK\r\n");
  ASSERT_EQ(Run({"SET", "b", "1"}), "+OK\r\n");
  ASSERT_EQ(Run({"SET", "c", "1"}), "+OK\r\n");
  storage::Entry* c = server_.db(5).Find("c", clock_.NowMs());
  server_.db(5).SetExpire(c, clock_.NowMs() + 10000);
  EXPECT_EQ(Payload(Run({"INFO", "keyspace"})),
            "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
            "db5:keys=2,expires=1,avg_ttl=10000\r\n");
  EXPECT_EQ(Run({"INFO", "nosuchsection"}), "$0\r\n\r\n");
  std::string two = Payload(Run({"INFO", "KEYSPACE", "clients"}));
  EXPECT_EQ(two.rfind("# Clients\r\nconnected_clients:1\r\n", 0), 0u) << two;
  EXPECT_NE(two.find("\r\n\r\n# Keyspace\r\n"), std::string::npos);

  std::string all = Payload(Run({"INFO"}));
  for (std::string_view header : {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Stats\r\n",
                                  "# Replication\r\n", "# Keyspace\r\n", "# Understudy\r\n"}) {
    EXPECT_NE(all.find(header), std::string::npos) << header;
  }
  EXPECT_NE(all.find("\r\nredis_version:7.0.15\r\n"), std::string::npos);
  EXPECT_NE(all.find("\r\nredis_mode:standalone\r\n"), std::string::npos);
  EXPECT_NE(all.find("\r\nrole:master\r\n"), std::string::npos);
  EXPECT_NE(all.find("\r\nprimary_state:none\r\n"), std::string::npos);
  std::smatch used;
  ASSERT_TRUE(std::regex_search(all, used, std::regex("\r\nused_memory:(\\d+)\r\n")));
  EXPECT_GT(std::stoull(used[1]), 0u);
  EXPECT_NE(all.find("\r\ntotal_commands_processed:"), std::string::npos);
  EXPECT_EQ(all.find("\r\n\r\n\r\n"), std::string::npos);
  EXPECT_EQ(all.substr(all.size() - 2), "\r\n");
  ASSERT_EQ(Run({"HELLO", "3"}).substr(0, 3), "%7\r");
  std::string verbatim = Run({"INFO", "keyspace"});
  EXPECT_EQ(verbatim[0], '=');
  EXPECT_NE(verbatim.find("\r\ntxt:# Keyspace\r\n"), std::string::npos);
}

TEST_F(AdminCommandsTest, CommandIntrospection) {
  EXPECT_EQ(Run({"COMMAND", "COUNT"}), ":" + std::to_string(server_.commands().size()) + "\r\n");
  EXPECT_EQ(
      Run({"COMMAND", "INFO", "get", "nosuch"}),
      "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
      "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n"
      "*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
      "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$"
      "5\r\nindex\r\n:1\r\n"
      "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
      "*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n");
  EXPECT_EQ(Run({"COMMAND", "INFO", "CLIENT|ID"}),
            "*1\r\n*10\r\n$9\r\nclient|id\r\n:2\r\n*3\r\n+noscript\r\n+loading\r\n+stale\r\n"
            ":0\r\n:0\r\n:0\r\n*2\r\n+@slow\r\n+@connection\r\n*0\r\n*0\r\n*0\r\n");
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "SET", "a", "b"}), "*1\r\n$1\r\na\r\n");
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "nosuch", "a"}), "-ERR Invalid command specified\r\n");
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "CLIENT", "LIST"}),
            "-ERR The command has no key arguments\r\n");
  EXPECT_EQ(Run({"COMMAND", "GETKEYS", "GET", "a", "b"}),
            "-ERR Invalid number of arguments specified for command\r\n");
  EXPECT_EQ(Run({"COMMAND", "GETKEYSANDFLAGS", "GET", "a"}),
            "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+RO\r\n+access\r\n");
  EXPECT_EQ(Run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG|*ET"}),
            "*2\r\n$10\r\nconfig|get\r\n$10\r\nconfig|set\r\n");
  EXPECT_EQ(Run({"COMMAND", "LIST", "FILTERBY", "MODULE", "x"}), "*0\r\n");
  EXPECT_EQ(Run({"COMMAND", "LIST", "FILTERBY", "FOO", "x"}), "-ERR syntax error\r\n");
  std::string connection = Run({"COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"});
  EXPECT_NE(connection.find("$4\r\nping\r\n"), std::string::npos);
  EXPECT_NE(connection.find("$14\r\nclient|setname\r\n"), std::string::npos);
  EXPECT_EQ(connection.find("$6\r\nconfig\r\n"), std::string::npos);
  EXPECT_EQ(Run({"COMMAND", "DOCS", "ECHO", "nosuch"}),
            "*2\r\n$4\r\necho\r\n*8\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n"
            "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
            "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n");
  // Every command, each with its subcommands nested.
  std::string all = Run({"COMMAND"});
  EXPECT_EQ(all.rfind("*" + std::to_string(server_.commands().size()) + "\r\n", 0), 0u);
  EXPECT_NE(all.find("$14\r\nconfig|rewrite\r\n"), std::string::npos);
}

TEST_F(AdminCommandsTest, ShutdownHasNoReplyAndValidatesFlags) {
  EXPECT_EQ(Run({"SHUTDOWN", "ABORT"}), "-ERR No shutdown in progress.\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "NOSAVE", "SAVE"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "NOW", "ABORT"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"SHUTDOWN", "FOO"}), "-ERR syntax error\r\n");
  ASSERT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"SHUTDOWN"}), "-ERR Command not allowed inside a transaction\r\n");
  ASSERT_EQ(Run({"DISCARD"}), "+OK\r\n");
  EXPECT_FALSE(server_.shutdown_requested());
  EXPECT_EQ(Run({"SHUTDOWN", "NOSAVE", "NOW", "FORCE"}), "");
  EXPECT_TRUE(server_.shutdown_requested());
}

TEST_F(AdminCommandsTest, SnapshotsAreNotPretended) {
  EXPECT_EQ(Run({"LASTSAVE"}), ":" + std::to_string(clock_.NowMs() / 1000) + "\r\n");
  EXPECT_EQ(Run({"SAVE"}).rfind("-ERR understudy does not write RDB snapshots", 0), 0u);
  EXPECT_EQ(Run({"BGSAVE", "foo"}), "-ERR syntax error\r\n");
  EXPECT_EQ(Run({"BGSAVE", "SCHEDULE"}).rfind("-ERR understudy does not write RDB snapshots", 0),
            0u);
}

}  // namespace
}  // namespace understudy::server
