#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/reply_writer.h"
#include "server/client_session.h"

struct lua_State;

namespace understudy::server {

class Server;
struct CommandSpec;

// How a script may behave, from EVAL_RO/EVALSHA_RO and a "#!lua flags=..."
// shebang line (Redis 7.0's script flags).
struct ScriptFlags {
  bool has_shebang = false;  // without one, Redis's EVAL compatibility mode
  bool no_writes = false;
  bool allow_oom = false;
};

// The Lua 5.1 interpreter that runs EVAL scripts, one per Server, sandboxed
// as Redis 7.0's: scripts see the base, table, string, math, cjson, bit,
// struct and cmsgpack libraries and the `redis` table, cannot create or
// change globals, and run their redis.call commands through Server::Call on
// a client session of their own (so that a write during a primary outage is
// journaled as the individual command it is). Compiled scripts are kept by
// SHA1 and follow the ScriptCache: when its generation changes (SCRIPT
// FLUSH) the interpreter is recreated, as Redis does.
//
// While a script runs past busy-reply-threshold, a count hook lets the
// network serve other clients (they get -BUSY, SCRIPT KILL and SHUTDOWN
// NOSAVE run) and stops the script once SCRIPT KILL asked for it.
class LuaEngine {
 public:
  explicit LuaEngine(Server& server);
  ~LuaEngine();
  LuaEngine(const LuaEngine&) = delete;
  LuaEngine& operator=(const LuaEngine&) = delete;

  // EVAL / EVAL_RO: `body` is the script text; the reply (the converted
  // result or Redis's error) goes to `caller`.
  void Eval(ClientSession& caller, std::string_view body, std::span<const std::string_view> keys,
            std::span<const std::string_view> argv, bool read_only);
  // EVALSHA / EVALSHA_RO: `sha` as the client sent it (either case).
  void EvalSha(ClientSession& caller, std::string_view sha, std::span<const std::string_view> keys,
               std::span<const std::string_view> argv, bool read_only);
  // SCRIPT LOAD: compiles `body` and remembers it; replies the SHA1 or the
  // compile error.
  void Load(ClientSession& caller, std::string_view body);
  // SCRIPT FLUSH (after ScriptCache::Flush): drops every compiled script
  // and starts a fresh interpreter.
  void Reset();

  // True while a script runs (redis.call may be on the stack).
  bool running() const { return running_; }
  // True once the running script has passed busy-reply-threshold.
  bool timed_out() const { return timed_out_; }
  // SCRIPT KILL: "OK" when the running script will stop, otherwise the
  // NOTBUSY / UNKILLABLE error text (without the leading '-').
  std::string_view Kill();
  // Makes the running script stop at its next hook (SHUTDOWN NOSAVE while
  // busy), whether or not it wrote.
  void Abort() { kill_requested_ = true; }
  // Bytes the interpreter holds (INFO's used_memory_lua).
  size_t memory_bytes() const;

  // --- Used by the `redis` library (lua_redis_api.cc). -------------------
  // Runs one redis.call/pcall with the arguments on the Lua stack and pushes
  // the converted reply (or an error table); returns false when the reply
  // is an error (redis.call raises it).
  bool CallFromScript(lua_State* lua);
  // redis.acl_check_cmd: true when the arguments on the stack (all strings
  // or numbers) name a command.
  bool KnowsCommand(lua_State* lua);
  // redis.setresp(2|3).
  void set_script_resp(protocol::RespVersion resp) { script_client_.resp = resp; }
  // Called from the count hook.
  void OnHook(lua_State* lua);
  // The 48-bit state of math.random. As in Redis 7.0 it starts where
  // lrand48's does and carries on across scripts (and SCRIPT FLUSH), so a
  // fresh process gives the same sequence as a fresh redis-server.
  uint64_t& rand48_state() { return rand48_; }

 private:
  struct Compiled {
    int function_ref;  // the function in the Lua registry
    ScriptFlags flags;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void Open();
  void Close();
  // Drops compiled functions when the script cache was flushed elsewhere.
  void SyncGeneration();
  // Compiles `body` as the function for `sha` (lower-case hex); on failure
  // returns nullptr with Redis's error text in *error.
  const Compiled* Compile(std::string_view sha, std::string_view body, std::string* error);
  // Runs a compiled script for `caller`, writing its reply.
  void Run(ClientSession& caller, std::string_view sha, const Compiled& compiled,
           std::span<const std::string_view> keys, std::span<const std::string_view> argv,
           bool read_only);
  // Converts the arguments on the Lua stack into call_args_; false (the
  // error table pushed) when there are none or one is not a string/number.
  bool CollectArguments(lua_State* lua);
  // Checks a command a script wants to run; returns Redis's error text
  // (empty when it may run).
  std::string_view AdmitScriptCommand(const CommandSpec* spec, size_t argc);

  Server& server_;
  lua_State* lua_ = nullptr;
  int globals_ref_ = 0;        // the real global table behind the read-only view
  int error_handler_ref_ = 0;  // the message handler of every script call
  uint64_t generation_ = 0;
  std::unordered_map<std::string, Compiled, Hash, std::equal_to<>> compiled_;
  // The session redis.call runs commands on, and reused argument storage.
  ClientSession script_client_;
  std::vector<std::string_view> call_args_;
  std::vector<std::string> number_args_;
  // KEYS and ARGV: one table each, refilled for every script rather than
  // allocated (and collected) per call; replaced when a script changed one
  // beyond its items (ScriptArray).
  struct ScriptArray {
    const char* name;
    int ref = 0;
    int length = 0;
  };
  ScriptArray keys_{"KEYS"};
  ScriptArray argv_{"ARGV"};
  void NewScriptArray(ScriptArray& array);
  void FillScriptArray(ScriptArray& array, std::span<const std::string_view> items);
  void CheckScriptArray(ScriptArray& array);
  int gc_countdown_ = 50;
  int gc_last_kb_ = 0;
  uint64_t rand48_ = 0x1234ABCD330EULL;

  // The running script.
  bool running_ = false;
  bool timed_out_ = false;
  bool kill_requested_ = false;
  bool wrote_ = false;
  bool read_only_ = false;
  bool oom_at_start_ = false;
  bool allow_oom_ = false;
  uint64_t caller_id_ = 0;
  int64_t start_ms_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace understudy::server
