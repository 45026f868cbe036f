#pragma once

// Pieces of the Lua engine shared between its files; not for other users.
#include <lua.hpp>
#include <string_view>

#include "protocol/reply_writer.h"

namespace understudy::server {

class LuaEngine;

namespace lua_internal {

// The engine that owns `lua` (it is the state's allocator argument).
LuaEngine& EngineOf(lua_State* lua);

// Opens the libraries scripts may use, the `redis` table, Redis's
// math.random and pcall, then locks the globals (lua_sandbox.cc). Leaves a
// reference to the real global table in *globals_ref and to the script
// message handler in *handler_ref.
void OpenSandbox(lua_State* lua, int* globals_ref, int* handler_ref);

// Adds the `redis` table to the global table at the top of the stack
// (lua_redis_api.cc).
void RegisterRedisApi(lua_State* lua);

// Pushes {err = "<CODE> <message>"} the way Redis builds error tables:
// "-CODE msg" keeps its code, anything else gets "ERR "; trailing CR/LF
// is trimmed.
void PushErrorTable(lua_State* lua, std::string_view error);

// Pushes the Lua value of one complete RESP reply (`reply` holds exactly
// one, written by the server), with Redis's conversion rules.
void PushReply(lua_State* lua, std::string_view reply);

// Converts the value on top of the stack to a reply for the script's
// caller and pops it. `script_resp3` is the protocol the script asked for
// with redis.setresp (it decides how booleans convert).
void WriteLuaValue(lua_State* lua, protocol::ReplyWriter& reply, bool script_resp3);

}  // namespace lua_internal
}  // namespace understudy::server
