// The `redis` table scripts call: redis.call/pcall, the reply helpers,
// sha1hex, log, setresp, set_repl and the constants, with Redis 7.0's
// argument checks and error texts.
#include <spdlog/spdlog.h>

#include <lua.hpp>
#include <string>

#include "server/scripting/lua_engine.h"
#include "server/scripting/lua_internal.h"
#include "server/scripting/script_cache.h"
#include "server/version.h"

namespace understudy::server::lua_internal {
namespace {

// Raises Redis's error table built from `text` (no position: the message
// handler adds the script line).
int RaiseError(lua_State* lua, std::string_view text) {
  PushErrorTable(lua, text);
  return lua_error(lua);
}

// redis.call(command, arg...): raises the command's error.
int RedisCall(lua_State* lua) {
  if (!EngineOf(lua).CallFromScript(lua)) return lua_error(lua);
  return 1;
}

// redis.pcall(command, arg...): returns the command's error as a table.
int RedisPCall(lua_State* lua) {
  EngineOf(lua).CallFromScript(lua);
  return 1;
}

// redis.sha1hex(text)
int RedisSha1Hex(lua_State* lua) {
  if (lua_gettop(lua) != 1) return RaiseError(lua, "wrong number of arguments");
  size_t length = 0;
  const char* text = lua_tolstring(lua, 1, &length);
  std::string digest =
      ScriptCache::Sha1Hex(text == nullptr ? std::string_view() : std::string_view(text, length));
  lua_pushlstring(lua, digest.data(), digest.size());
  return 1;
}

// redis.error_reply(text): {err = text}, "-" and "ERR " handled as Redis.
int RedisErrorReply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    PushErrorTable(lua, "wrong number or type of arguments");
    return 1;
  }
  std::string error = lua_tostring(lua, -1);  // a C string, as Redis reads it
  if (error.empty() || error[0] != '-') error.insert(0, "-");
  PushErrorTable(lua, error);
  return 1;
}

// redis.status_reply(text): {ok = text}
int RedisStatusReply(lua_State* lua) {
  if (lua_gettop(lua) != 1 || lua_type(lua, -1) != LUA_TSTRING) {
    PushErrorTable(lua, "wrong number or type of arguments");
    return 1;
  }
  lua_createtable(lua, 0, 1);
  lua_pushvalue(lua, -2);
  lua_setfield(lua, -2, "ok");
  return 1;
}

// redis.set_repl(flags): validated; scripts always replicate (and journal)
// their effects, so the flags change nothing.
int RedisSetRepl(lua_State* lua) {
  if (lua_gettop(lua) != 1) return RaiseError(lua, "redis.set_repl() requires two arguments.");
  const int flags = static_cast<int>(lua_tonumber(lua, -1));
  if ((flags & ~3) != 0) {
    return RaiseError(lua,
                      "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or "
                      "REPL_NONE.");
  }
  return 0;
}

// redis.replicate_commands(): effects replication is always on in 7.0.
int RedisReplicateCommands(lua_State* lua) {
  lua_pushboolean(lua, 1);
  return 1;
}

// redis.log(level, message...)
int RedisLog(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc < 2) return RaiseError(lua, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(lua, -argc)) {
    return RaiseError(lua, "First argument must be a number (log level).");
  }
  const int level = static_cast<int>(lua_tonumber(lua, -argc));
  if (level < 0 || level > 3) return RaiseError(lua, "Invalid debug level.");
  std::string message;
  for (int j = 1; j < argc; ++j) {
    size_t length = 0;
    const char* part = lua_tolstring(lua, -argc + j, &length);
    if (part == nullptr) continue;
    if (j != 1) message.push_back(' ');
    message.append(part, length);
  }
  // LL_DEBUG, LL_VERBOSE, LL_NOTICE, LL_WARNING
  static constexpr spdlog::level::level_enum kLevels[] = {
      spdlog::level::debug, spdlog::level::debug, spdlog::level::info, spdlog::level::warn};
  spdlog::log(kLevels[level], "{}", message);
  return 0;
}

// redis.setresp(2|3): the protocol redis.call's replies are read in.
int RedisSetResp(lua_State* lua) {
  if (lua_gettop(lua) != 1) return RaiseError(lua, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(lua, -1));
  if (resp != 2 && resp != 3) return RaiseError(lua, "RESP version must be 2 or 3.");
  EngineOf(lua).set_script_resp(resp == 3 ? protocol::RespVersion::kResp3
                                          : protocol::RespVersion::kResp2);
  return 0;
}

// redis.breakpoint(): false outside the script debugger, which understudy
// does not have.
int RedisBreakpoint(lua_State* lua) {
  lua_pushboolean(lua, 0);
  return 1;
}

// redis.debug(...): a no-op outside the script debugger.
int RedisDebug(lua_State*) { return 0; }

// redis.acl_check_cmd(command, arg...): understudy has only the default
// user, who may run every command.
int RedisAclCheckCmd(lua_State* lua) {
  if (lua_gettop(lua) == 0) {
    return RaiseError(lua, "Please specify at least one argument for this redis lib call");
  }
  for (int j = 1; j <= lua_gettop(lua); ++j) {
    if (lua_type(lua, j) != LUA_TNUMBER && lua_type(lua, j) != LUA_TSTRING) {
      return RaiseError(lua, "Lua redis lib command arguments must be strings or integers");
    }
  }
  if (!EngineOf(lua).KnowsCommand(lua)) {
    return RaiseError(lua, "Invalid command passed to redis.acl_check_cmd()");
  }
  lua_pushboolean(lua, 1);
  return 1;
}

void SetFunction(lua_State* lua, const char* name, lua_CFunction function) {
  lua_pushcfunction(lua, function);
  lua_setfield(lua, -2, name);
}

void SetNumber(lua_State* lua, const char* name, lua_Number value) {
  lua_pushnumber(lua, value);
  lua_setfield(lua, -2, name);
}

}  // namespace

void RegisterRedisApi(lua_State* lua) {
  lua_newtable(lua);
  SetFunction(lua, "call", RedisCall);
  SetFunction(lua, "pcall", RedisPCall);
  SetFunction(lua, "log", RedisLog);
  SetNumber(lua, "LOG_DEBUG", 0);
  SetNumber(lua, "LOG_VERBOSE", 1);
  SetNumber(lua, "LOG_NOTICE", 2);
  SetNumber(lua, "LOG_WARNING", 3);
  SetNumber(lua, "REDIS_VERSION_NUM", 0x07000f);  // 7.0.15, as kRedisCompatVersion
  lua_pushstring(lua, kRedisCompatVersion);
  lua_setfield(lua, -2, "REDIS_VERSION");
  SetFunction(lua, "setresp", RedisSetResp);
  SetFunction(lua, "sha1hex", RedisSha1Hex);
  SetFunction(lua, "error_reply", RedisErrorReply);
  SetFunction(lua, "status_reply", RedisStatusReply);
  SetFunction(lua, "set_repl", RedisSetRepl);
  SetFunction(lua, "replicate_commands", RedisReplicateCommands);
  SetNumber(lua, "REPL_NONE", 0);
  SetNumber(lua, "REPL_AOF", 1);
  SetNumber(lua, "REPL_SLAVE", 2);
  SetNumber(lua, "REPL_REPLICA", 2);
  SetNumber(lua, "REPL_ALL", 3);
  SetFunction(lua, "acl_check_cmd", RedisAclCheckCmd);
  SetFunction(lua, "breakpoint", RedisBreakpoint);
  SetFunction(lua, "debug", RedisDebug);
  lua_setfield(lua, -2, "redis");
}

}  // namespace understudy::server::lua_internal
