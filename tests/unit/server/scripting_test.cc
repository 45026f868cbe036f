// EVAL, EVALSHA and SCRIPT driven through Server::Execute, without sockets:
// conversions both ways, the sandbox, error texts with script lines, and
// the busy/kill logic (the network's busy pass replaced by a callback that
// runs other clients' commands the same way).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "server/scripting/lua_engine.h"
#include "server/scripting/script_cache.h"
#include "server/server.h"
#include "tests/unit/server/server_test_support.h"

namespace understudy::server {
namespace {

class ScriptingTest : public ::testing::Test {
 protected:
  ScriptingTest() : server_(Config{}, &clock_), client_(server_.AddClient()) {}

  std::string Run(ClientSession& client, std::initializer_list<std::string_view> args) {
    return testing_support::RunRequest(server_, client, args);
  }
  std::string Run(std::initializer_list<std::string_view> args) { return Run(client_, args); }
  // EVAL `script` with no keys.
  std::string Eval(std::string_view script) { return Run({"EVAL", script, "0"}); }
  // The error suffix Redis adds to a runtime error of `script` at `line`.
  static std::string At(std::string_view script, int line) {
    return " script: " + ScriptCache::Sha1Hex(script) +
           ", on @user_script:" + std::to_string(line) + ".\r\n";
  }

  ManualClock clock_;
  Server server_;
  ClientSession& client_;
};

TEST_F(ScriptingTest, LuaValuesBecomeResp2Replies) {
  EXPECT_EQ(Eval("return 1"), ":1\r\n");
  EXPECT_EQ(Eval("return 3.99"), ":3\r\n");  // floats are truncated
  EXPECT_EQ(Eval("return -3.7"), ":-3\r\n");
  EXPECT_EQ(Eval("return 'x'"), "$1\r\nx\r\n");
  EXPECT_EQ(Eval("return true"), ":1\r\n");
  EXPECT_EQ(Eval("return false"), "$-1\r\n");
  EXPECT_EQ(Eval("return nil"), "$-1\r\n");
  // Arrays stop at the first nil, nested arrays convert too.
  EXPECT_EQ(Eval("return {1, 'a', {2, false}, nil, 5}"),
            "*3\r\n:1\r\n$1\r\na\r\n*2\r\n:2\r\n$-1\r\n");
  EXPECT_EQ(Eval("return {ok = 'fine'}"), "+fine\r\n");
  EXPECT_EQ(Eval("return {err = 'MYERR bad'}"), "-MYERR bad\r\n");
  EXPECT_EQ(Eval("return {ok = 'a\\r\\nb'}"), "+a  b\r\n");
  EXPECT_EQ(Eval("return {double = 3.5}"), "$3\r\n3.5\r\n");
  EXPECT_EQ(Eval("return {map = {a = 1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {set = {a = true}}"), "*1\r\n$1\r\na\r\n");
  EXPECT_EQ(Eval("return {big_number = '123'}"), "$3\r\n123\r\n");
  EXPECT_EQ(Eval("return {verbatim_string = {format = 'txt', string = 'hi'}}"), "$2\r\nhi\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('x')"), "-ERR x\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('-CODE y')"), "-CODE y\r\n");
  EXPECT_EQ(Eval("return redis.status_reply('FINE')"), "+FINE\r\n");
}

TEST_F(ScriptingTest, LuaValuesBecomeResp3RepliesForAResp3Caller) {
  client_.resp = protocol::RespVersion::kResp3;
  EXPECT_EQ(Eval("return false"), "_\r\n");
  EXPECT_EQ(Eval("return {double = 3.5}"), ",3.5\r\n");
  EXPECT_EQ(Eval("return {map = {a = 1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("return {set = {a = true}}"), "~1\r\n$1\r\na\r\n");
  EXPECT_EQ(Eval("return {big_number = '123'}"), "(123\r\n");
  EXPECT_EQ(Eval("return {verbatim_string = {format = 'markdown', string = 'hi'}}"),
            "=6\r\nmar:hi\r\n");
  // Booleans stay RESP2-style unless the script chose RESP3.
  EXPECT_EQ(Eval("return true"), ":1\r\n");
  EXPECT_EQ(Eval("redis.setresp(3); return true"), "#t\r\n");
  EXPECT_EQ(Eval("redis.setresp(3); return false"), "#f\r\n");
}

TEST_F(ScriptingTest, CommandRepliesBecomeLuaValues) {
  EXPECT_EQ(Eval("return redis.call('SET', 'k', 'v')"), "+OK\r\n");
  EXPECT_EQ(Eval("return redis.call('GET', 'k')"), "$1\r\nv\r\n");
  EXPECT_EQ(Eval("return redis.call('GET', 'missing') == false"), ":1\r\n");
  EXPECT_EQ(Eval("return type(redis.call('PING'))"), "$5\r\ntable\r\n");
  EXPECT_EQ(Eval("return redis.call('PING').ok"), "$4\r\nPONG\r\n");
  EXPECT_EQ(Eval("return redis.call('INCRBY', 'n', 41) + 1"), ":42\r\n");
  // Numbers are sent with 17 significant digits, not Lua's 14.
  EXPECT_EQ(Eval("return redis.call('SET', 'f', 0.1)"), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "f"}), "$19\r\n0.10000000000000001\r\n");
  EXPECT_EQ(Eval("redis.call('RPUSH', 'l', 'a', 'b'); return redis.call('LRANGE', 'l', 0, -1)"),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
  // Under RESP3 a map reply becomes {map = ...}, a double {double = ...}.
  EXPECT_EQ(Eval("redis.call('HSET', 'h', 'f', 'x'); redis.setresp(3); "
                 "return redis.call('HGETALL', 'h').map.f"),
            "$1\r\nx\r\n");
  EXPECT_EQ(Eval("redis.call('ZADD', 'z', 1.5, 'm'); redis.setresp(3); "
                 "return tostring(redis.call('ZSCORE', 'z', 'm').double)"),
            "$3\r\n1.5\r\n");
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('GET', 'missing') == nil"), ":1\r\n");
  EXPECT_EQ(Eval("return #KEYS + #ARGV"), ":0\r\n");
  EXPECT_EQ(Run({"EVAL", "return KEYS[1] .. ARGV[2] .. #ARGV", "1", "k", "a", "b"}),
            "$3\r\nkb2\r\n");
}

TEST_F(ScriptingTest, CommandErrorsRaiseOrComeBackFromPcall) {
  Run({"SET", "s", "text"});
  const std::string call = "return redis.call('INCR', 's')";
  EXPECT_EQ(Eval(call), "-ERR value is not an integer or out of range" + At(call, 1));
  EXPECT_EQ(Eval("return redis.pcall('INCR', 's')"),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Eval("local ok, e = pcall(redis.call, 'INCR', 's'); return e"),
            "$43\r\nERR value is not an integer or out of range\r\n");
  const std::string unknown = "return redis.call('NOSUCH')";
  EXPECT_EQ(Eval(unknown), "-ERR Unknown Redis command called from script" + At(unknown, 1));
  const std::string arity = "\n\nreturn redis.call('GET')";
  EXPECT_EQ(Eval(arity),
            "-ERR Wrong number of args calling Redis command from script" + At(arity, 3));
  const std::string noscript = "return redis.call('EVAL', 'return 1', 0)";
  EXPECT_EQ(Eval(noscript), "-ERR This Redis command is not allowed from script" + At(noscript, 1));
  const std::string bad_arg = "return redis.call('GET', {})";
  EXPECT_EQ(Eval(bad_arg),
            "-ERR Lua redis lib command arguments must be strings or integers" + At(bad_arg, 1));
}

TEST_F(ScriptingTest, RuntimeAndCompileErrorsNameTheScriptLine) {
  const std::string boom = "local a = 1\nerror('boom')";
  EXPECT_EQ(Eval(boom), "-ERR user_script:2: boom" + At(boom, 2));
  const std::string table_error = "error({err = 'MY own'})";
  EXPECT_EQ(Eval(table_error), "-MY own" + At(table_error, 1));
  EXPECT_EQ(Eval("return 1 +"),
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near "
            "'<eof>'\r\n");
  EXPECT_EQ(Run({"EVAL", "return 1", "-1"}), "-ERR Number of keys can't be negative\r\n");
  EXPECT_EQ(Run({"EVAL", "return 1", "2", "a"}),
            "-ERR Number of keys can't be greater than number of args\r\n");
  EXPECT_EQ(Run({"EVAL", "return 1", "x"}), "-ERR value is not an integer or out of range\r\n");
}

TEST_F(ScriptingTest, GlobalsAreReadOnlyAndFileAccessIsGone) {
  const std::string create = "x = 1";
  EXPECT_EQ(Eval(create), "-ERR user_script:1: Attempt to modify a readonly table" + At(create, 1));
  const std::string read = "return x";
  EXPECT_EQ(Eval(read),
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'x'" +
                At(read, 1));
  const std::string library = "string.upper = nil";
  EXPECT_EQ(Eval(library),
            "-ERR user_script:1: Attempt to modify a readonly table" + At(library, 1));
  const std::string raw = "rawset(_G, 'x', 1)";
  EXPECT_EQ(Eval(raw), "-ERR Attempt to modify a readonly table" + At(raw, 1));
  const std::string insert = "table.insert(redis, 1)";
  EXPECT_EQ(Eval(insert), "-ERR Attempt to modify a readonly table" + At(insert, 1));
  for (const char* name : {"loadfile", "dofile", "print", "os", "io", "require", "debug"}) {
    std::string script = std::string("return ") + name;
    EXPECT_EQ(Eval(script),
              "-ERR user_script:1: Script attempted to access nonexistent global "
              "variable '" +
                  std::string(name) + "'" + At(script, 1));
  }
  // The libraries Redis offers are there, and the proxies hide nothing.
  EXPECT_EQ(Eval("return cjson.encode({1, 2})"), "$5\r\n[1,2]\r\n");
  EXPECT_EQ(Eval("return bit.band(7, 3)"), ":3\r\n");
  EXPECT_EQ(Eval("return ('abc'):upper()"), "$3\r\nABC\r\n");
  EXPECT_EQ(Eval("local n = 0 for k in pairs(redis) do n = n + 1 end return n > 10"), ":1\r\n");
  EXPECT_EQ(Eval("return getmetatable('').__index == string"), ":1\r\n");
  // Nothing a script did survives into the next one.
  EXPECT_EQ(Eval("local t = {} t.x = 1 return t.x"), ":1\r\n");
}

TEST_F(ScriptingTest, KeysAndArgvStartFreshForEveryScript) {
  EXPECT_EQ(Run({"EVAL", "KEYS[2] = 'added' KEYS.x = 1 return #KEYS", "1", "k"}), ":2\r\n");
  EXPECT_EQ(Run({"EVAL", "return {#KEYS, tostring(KEYS.x), KEYS[1]}", "1", "j"}),
            "*3\r\n:1\r\n$3\r\nnil\r\n$1\r\nj\r\n");
  EXPECT_EQ(
      Run({"EVAL", "setmetatable(ARGV, {__index = function() return 'm' end}) return 1", "0", "a"}),
      ":1\r\n");
  EXPECT_EQ(Run({"EVAL", "return {#ARGV, tostring(ARGV[1]), tostring(getmetatable(ARGV))}", "0"}),
            "*3\r\n:0\r\n$3\r\nnil\r\n$3\r\nnil\r\n");
  EXPECT_EQ(Run({"EVAL", "ARGV[1] = 'changed' return ARGV[1]", "0", "original"}),
            "$7\r\nchanged\r\n");
  EXPECT_EQ(Run({"EVAL", "return ARGV", "0", "x", "y"}), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
  EXPECT_EQ(Run({"EVAL", "return ARGV", "0", "z"}), "*1\r\n$1\r\nz\r\n");
}

TEST_F(ScriptingTest, MathRandomFollowsRedisSequence) {
  // A fresh redis-server 7.0 answers 397 and 841 here.
  EXPECT_EQ(Eval("return {math.random(1000), math.random(1000)}"), "*2\r\n:397\r\n:841\r\n");
  EXPECT_EQ(Eval("math.randomseed(0) return {math.random(1000), math.random(1000)}"),
            "*2\r\n:171\r\n:750\r\n");
}

TEST_F(ScriptingTest, ScriptCacheCommands) {
  const std::string sha = ScriptCache::Sha1Hex("return 'loaded'");
  EXPECT_EQ(Run({"SCRIPT", "LOAD", "return 'loaded'"}), "$40\r\n" + sha + "\r\n");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "$6\r\nloaded\r\n");
  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(Run({"EVALSHA", upper, "0"}), "$6\r\nloaded\r\n");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha, "0000000000000000000000000000000000000000"}),
            "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(Run({"SCRIPT", "LOAD", "return +"}),
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near "
            "'+'\r\n");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "bad"}),
            "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "ASYNC"}), "+OK\r\n");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha}), "*1\r\n:0\r\n");
  // EVAL caches what it ran.
  EXPECT_EQ(Eval("return 'loaded'"), "$6\r\nloaded\r\n");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "$6\r\nloaded\r\n");
  EXPECT_EQ(Run({"SCRIPT", "KILL"}), "-NOTBUSY No scripts in execution right now.\r\n");
}

TEST_F(ScriptingTest, ReadOnlyScriptsCannotWrite) {
  const std::string write = "return redis.call('SET', 'a', 'b')";
  EXPECT_EQ(Run({"EVAL_RO", write, "0"}),
            "-ERR Write commands are not allowed from read-only scripts." + At(write, 1));
  const std::string flagged = "#!lua flags=no-writes\nreturn redis.call('SET', 'a', 'b')";
  EXPECT_EQ(Eval(flagged),
            "-ERR Write commands are not allowed from read-only scripts." + At(flagged, 2));
  EXPECT_EQ(Run({"EVAL_RO", "return redis.call('GET', 'a')", "0"}), "$-1\r\n");
  EXPECT_EQ(Eval("#!lua flags=bad\nreturn 1"), "-ERR Unexpected flag in script shebang: bad\r\n");
  EXPECT_EQ(Eval("#!python\nreturn 1"), "-ERR Unexpected engine in script shebang: #!python\r\n");
}

TEST_F(ScriptingTest, SelectInsideAScriptChangesOnlyTheScriptsDatabase) {
  EXPECT_EQ(Eval("redis.call('SELECT', 2); return redis.call('SET', 'k', 'in2')"), "+OK\r\n");
  EXPECT_EQ(client_.db_index, 0);
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(Run({"SELECT", "2"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$3\r\nin2\r\n");
  // The script starts in its caller's database.
  EXPECT_EQ(Eval("return redis.call('GET', 'k')"), "$3\r\nin2\r\n");
}

TEST_F(ScriptingTest, BlockingCommandsAreRefusedAsInRedis) {
  const std::string blpop = "return redis.call('BLPOP', 'nolist', 0)";
  EXPECT_EQ(Eval(blpop), "-ERR This Redis command is not allowed from script" + At(blpop, 1));
  EXPECT_FALSE(client_.blocked);
}

TEST_F(ScriptingTest, BusyScriptLetsOthersInAndScriptKillStopsIt) {
  server_.config().busy_reply_threshold = 1;
  ClientSession& other = server_.AddClient();
  std::vector<std::string> seen;
  // Stands in for the network's busy pass: another client's commands.
  server_.set_busy_handler([&](uint64_t running) {
    EXPECT_EQ(running, client_.id());
    EXPECT_TRUE(server_.script_busy());
    seen.push_back(Run(other, {"GET", "k"}));
    seen.push_back(Run(other, {"EVAL", "return 1", "0"}));
    seen.push_back(Run(other, {"SCRIPT", "KILL"}));
  });
  const std::string loop = "local i = 0\nwhile true do i = i + 1 end";
  EXPECT_EQ(Eval(loop), "-ERR Script killed by user with SCRIPT KILL..." + At(loop, 2));
  const std::string busy =
      "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
      "NOSAVE.\r\n";
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], busy);
  EXPECT_EQ(seen[1], busy);
  EXPECT_EQ(seen[2], "+OK\r\n");
  EXPECT_FALSE(server_.script_busy());
  EXPECT_EQ(Run(other, {"GET", "k"}), "$-1\r\n");
}

TEST_F(ScriptingTest, ScriptThatWroteIsUnkillable) {
  server_.config().busy_reply_threshold = 1;
  ClientSession& other = server_.AddClient();
  std::string kill_reply;
  int passes = 0;
  server_.set_busy_handler([&](uint64_t) {
    if (++passes == 1) kill_reply = Run(other, {"SCRIPT", "KILL"});
  });
  // Long enough (200000 commands) to pass a 1 ms threshold anywhere.
  EXPECT_EQ(Eval("redis.call('SET', 'w', '1') "
                 "for i = 1, 200000 do redis.call('INCR', 'n') end return 1"),
            ":1\r\n");
  EXPECT_EQ(kill_reply,
            "-UNKILLABLE Sorry the script already executed write commands against the dataset. "
            "You can either wait the script termination or kill the server in a hard way using "
            "the SHUTDOWN NOSAVE command.\r\n");
}

TEST_F(ScriptingTest, ShutdownNeedsNosaveWhileBusy) {
  server_.config().busy_reply_threshold = 1;
  ClientSession& other = server_.AddClient();
  std::string plain;
  server_.set_busy_handler([&](uint64_t) {
    if (plain.empty()) plain = Run(other, {"SHUTDOWN"});
    Run(other, {"SHUTDOWN", "NOSAVE"});
  });
  // The script is stopped and its caller gets nothing: the process exits.
  EXPECT_EQ(Eval("while true do end"), "");
  EXPECT_EQ(plain,
            "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
            "NOSAVE.\r\n");
  EXPECT_TRUE(server_.shutdown_requested());
}

// INFO memory reports the script cache and the interpreter, as Redis 7.0.
TEST_F(ScriptingTest, InfoMemoryCountsCachedScriptsAndInterpreter) {
  auto field = [this](std::string_view name) -> int64_t {
    const std::string info = Run({"INFO", "memory"});
    const std::string prefix = "\r\n" + std::string(name) + ":";
    const size_t at = info.find(prefix);
    if (at == std::string::npos) return -1;
    return std::stoll(info.substr(at + prefix.size()));
  };
  EXPECT_EQ(field("number_of_cached_scripts"), 0);
  EXPECT_EQ(field("used_memory_scripts_eval"), 0);
  Run({"SCRIPT", "LOAD", "return 1"});
  Eval("return 2");
  EXPECT_EQ(field("number_of_cached_scripts"), 2);
  EXPECT_EQ(field("used_memory_scripts_eval"), 16);  // the two bodies' bytes
  EXPECT_GT(field("used_memory_lua"), 0);
  EXPECT_EQ(field("used_memory_lua"), field("used_memory_vm_eval"));
  Run({"SCRIPT", "FLUSH"});
  EXPECT_EQ(field("number_of_cached_scripts"), 0);
  EXPECT_EQ(field("used_memory_scripts"), 0);
}

}  // namespace
}  // namespace understudy::server
