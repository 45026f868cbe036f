// The sandbox scripts run in, as Redis 7.0 builds it: the libraries Redis
// loads (minus file and module loading), its pcall and math.random, and
// globals that cannot be created or changed.
//
// Redis 7.0 makes tables read-only inside its own patched Lua. Debian's Lua
// 5.1 has no such flag, so the same effect comes from metatables: the
// global table scripts see is an empty proxy whose reads fall through to
// the real globals (a missing one is Redis's "nonexistent global variable"
// error) and whose writes fail with Redis's "Attempt to modify a readonly
// table"; every library table is replaced by such a proxy too. The raw
// functions that would bypass a proxy (rawset, setmetatable, the table
// library's writers) refuse proxies with the same text.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <lua.hpp>
#include <string>

#include "server/scripting/lua_engine.h"
#include "server/scripting/lua_internal.h"
#include "server/scripting/lua_libs.h"

extern "C" int luaopen_cjson(lua_State* lua);
extern "C" int luaopen_bit(lua_State* lua);

namespace understudy::server::lua_internal {
namespace {

constexpr const char* kReadOnlyError = "Attempt to modify a readonly table";
// Registry key of the weak map from read-only proxies to their real tables.
constexpr const char* kReadOnlySetKey = "understudy.readonly";

// __index of the real global table: reading a global nobody defined.
int NonexistentGlobal(lua_State* lua) {
  const char* name = lua_tostring(lua, 2);
  return luaL_error(lua, "Script attempted to access nonexistent global variable '%s'",
                    name ? name : "?");
}

// __newindex of every proxy. Raised with the position of the script line,
// like the Lua VM's own error in Redis.
int ReadOnlyWrite(lua_State* lua) { return luaL_error(lua, "%s", kReadOnlyError); }

// Pushes the real table behind the proxy at `index` (nil for anything else).
void PushRealTable(lua_State* lua, int index) {
  index = index > 0 ? index : lua_gettop(lua) + index + 1;
  lua_getfield(lua, LUA_REGISTRYINDEX, kReadOnlySetKey);
  lua_pushvalue(lua, index);
  lua_rawget(lua, -2);
  lua_remove(lua, -2);
}

bool IsReadOnly(lua_State* lua, int index) {
  if (!lua_istable(lua, index)) return false;
  PushRealTable(lua, index);
  const bool found = !lua_isnil(lua, -1);
  lua_pop(lua, 1);
  return found;
}

// next(t, k) that walks the real table behind a proxy, so that pairs(_G)
// and next(string) see what they see in Redis (without handing the real
// table to the script).
int ProxyAwareNext(lua_State* lua) {
  if (IsReadOnly(lua, 1)) {
    PushRealTable(lua, 1);
    lua_replace(lua, 1);
  }
  const int argc = lua_gettop(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, argc, LUA_MULTRET);
  return lua_gettop(lua);
}

// pairs(t): for a proxy, iterates with ProxyAwareNext (upvalue 1).
int ProxyAwarePairs(lua_State* lua) {
  if (!IsReadOnly(lua, 1)) {
    const int argc = lua_gettop(lua);
    lua_pushvalue(lua, lua_upvalueindex(2));
    lua_insert(lua, 1);
    lua_call(lua, argc, LUA_MULTRET);
    return lua_gettop(lua);
  }
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_pushvalue(lua, 1);
  lua_pushnil(lua);
  return 3;
}

// Wraps a function whose first argument it may write to (rawset,
// setmetatable, table.insert...): refuses read-only tables, with no
// position, as Redis's VM raises it from inside a C function.
int GuardFirstArgument(lua_State* lua) {
  if (IsReadOnly(lua, 1)) {
    lua_pushstring(lua, kReadOnlyError);
    return lua_error(lua);
  }
  const int argc = lua_gettop(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, argc, LUA_MULTRET);
  return lua_gettop(lua);
}

// Replaces function `name` of the table at -1 with a guarded one.
void Guard(lua_State* lua, const char* name) {
  lua_getfield(lua, -1, name);
  if (!lua_isfunction(lua, -1)) {
    lua_pop(lua, 1);
    return;
  }
  lua_pushcclosure(lua, GuardFirstArgument, 1);
  lua_setfield(lua, -2, name);
}

// Pushes a read-only proxy for the table at -1 (which it replaces).
void MakeProxy(lua_State* lua) {
  lua_newtable(lua);                 // proxy
  lua_createtable(lua, 0, 3);        // its metatable
  lua_pushvalue(lua, -3);            // the real table
  lua_setfield(lua, -2, "__index");  // reads fall through
  lua_pushcfunction(lua, ReadOnlyWrite);
  lua_setfield(lua, -2, "__newindex");
  // getmetatable() must not hand out the real table: it shows an empty
  // table instead (Redis's metatables hold no array items either).
  lua_newtable(lua);
  lua_setfield(lua, -2, "__metatable");
  lua_setmetatable(lua, -2);
  lua_getfield(lua, LUA_REGISTRYINDEX, kReadOnlySetKey);
  lua_pushvalue(lua, -2);  // proxy
  lua_pushvalue(lua, -4);  // -> real table
  lua_rawset(lua, -3);
  lua_pop(lua, 1);
  lua_replace(lua, -2);
}

// Redis 7.0's Lua has no binary chunk loader: a precompiled chunk is read as
// text and fails on its first byte (ESC). Pushes nil and that message for a
// chunk named `name` (what the text parser would say), using the original
// loadstring (upvalue 1) so the chunk name is shown the way Lua shows it.
int RefuseBinaryChunk(lua_State* lua, const char* name) {
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_pushliteral(lua, "\1");
  lua_pushstring(lua, name);
  lua_call(lua, 2, 2);  // nil, "<chunk>:1: unexpected symbol near 'char(1)'"
  std::string message = lua_tostring(lua, -1) ? lua_tostring(lua, -1) : "";
  const size_t at = message.rfind("'char(1)'");
  if (at != std::string::npos) message.replace(at, 9, "'char(27)'");
  lua_pop(lua, 2);
  lua_pushnil(lua);
  lua_pushlstring(lua, message.data(), message.size());
  return 2;
}

// loadstring(text [, name]) without binary chunks.
int SafeLoadString(lua_State* lua) {
  size_t length = 0;
  const char* text = luaL_checklstring(lua, 1, &length);
  if (length > 0 && text[0] == LUA_SIGNATURE[0]) {
    return RefuseBinaryChunk(lua, luaL_optstring(lua, 2, text));
  }
  const int argc = lua_gettop(lua);
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, 1);
  lua_call(lua, argc, LUA_MULTRET);
  return lua_gettop(lua);
}

// load(reader [, name]) without binary chunks: the pieces are gathered
// first, then loaded as text by loadstring (upvalue 1).
int SafeLoad(lua_State* lua) {
  luaL_checktype(lua, 1, LUA_TFUNCTION);
  const char* name = luaL_optstring(lua, 2, "=(load)");
  luaL_Buffer buffer;
  luaL_buffinit(lua, &buffer);
  for (;;) {
    lua_pushvalue(lua, 1);
    lua_call(lua, 0, 1);
    if (lua_isnil(lua, -1)) {
      lua_pop(lua, 1);
      break;
    }
    if (!lua_isstring(lua, -1)) return luaL_error(lua, "reader function must return a string");
    if (lua_objlen(lua, -1) == 0) {
      lua_pop(lua, 1);
      break;
    }
    luaL_addvalue(&buffer);
  }
  luaL_pushresult(&buffer);
  size_t length = 0;
  const char* text = lua_tolstring(lua, -1, &length);
  if (length > 0 && text[0] == LUA_SIGNATURE[0]) return RefuseBinaryChunk(lua, name);
  lua_pushvalue(lua, lua_upvalueindex(1));
  lua_insert(lua, -2);
  lua_pushstring(lua, name);
  lua_call(lua, 2, 2);
  return lua_isnil(lua, -2) ? 2 : 1;
}

// Redis's pcall: an error raised as a table (what redis.call raises) is
// returned as its `err` string, as before Redis 7.
int RedisPcall(lua_State* lua) {
  const int argc = lua_gettop(lua);
  luaL_checkany(lua, 1);
  lua_pushboolean(lua, 1);
  lua_insert(lua, 1);
  if (lua_pcall(lua, argc - 1, LUA_MULTRET, 0) != 0) {
    lua_remove(lua, 1);
    if (lua_istable(lua, -1)) {
      lua_getfield(lua, -1, "err");
      if (lua_isstring(lua, -1)) {
        lua_replace(lua, -2);
      } else {
        lua_pop(lua, 1);
      }
    }
    lua_pushboolean(lua, 0);
    lua_insert(lua, 1);
  }
  return lua_gettop(lua);
}

// Redis's rand48: the same sequence for the same seed on every platform.
constexpr int32_t kRand48Max = INT32_MAX;

int32_t NextRand48(uint64_t& state) {
  state = (state * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
  return static_cast<int32_t>(state >> 17);
}

int MathRandom(lua_State* lua) {
  uint64_t& state = EngineOf(lua).rand48_state();
  const lua_Number r =
      static_cast<lua_Number>(NextRand48(state) % kRand48Max) / static_cast<lua_Number>(kRand48Max);
  switch (lua_gettop(lua)) {
    case 0:
      lua_pushnumber(lua, r);
      break;
    case 1: {
      int upper = luaL_checkint(lua, 1);
      luaL_argcheck(lua, 1 <= upper, 1, "interval is empty");
      lua_pushnumber(lua, std::floor(r * upper) + 1);
      break;
    }
    case 2: {
      int lower = luaL_checkint(lua, 1);
      int upper = luaL_checkint(lua, 2);
      luaL_argcheck(lua, lower <= upper, 2, "interval is empty");
      lua_pushnumber(lua, std::floor(r * (upper - lower + 1)) + lower);
      break;
    }
    default:
      return luaL_error(lua, "wrong number of arguments");
  }
  return 1;
}

int MathRandomSeed(lua_State* lua) {
  const int seed = luaL_checkint(lua, 1);
  EngineOf(lua).rand48_state() =
      (static_cast<uint64_t>(static_cast<uint32_t>(seed)) << 16) | 0x330E;
  return 0;
}

// Calls an opener (luaopen_*) and stores what it returns as global `name`.
void OpenLibrary(lua_State* lua, const char* name, lua_CFunction opener) {
  lua_pushcfunction(lua, opener);
  lua_pushstring(lua, name);
  lua_call(lua, 1, 1);
  if (name[0] != '\0' && lua_istable(lua, -1)) {
    lua_setglobal(lua, name);
  } else {
    lua_pop(lua, 1);
  }
}

// The message handler of every script call (Redis's __redis__err__handler):
// turns the error into {err=..., source=..., line=...} naming the script
// line that raised it (or that called the C function that did).
int ScriptErrorHandler(lua_State* lua) {
  lua_Debug info;
  bool located = lua_getstack(lua, 1, &info) != 0 && lua_getinfo(lua, "Sl", &info) != 0;
  if (located && std::string_view(info.what) == "C") {
    located = lua_getstack(lua, 2, &info) != 0 && lua_getinfo(lua, "Sl", &info) != 0;
  }
  if (!lua_istable(lua, 1)) {
    // {err = 'ERR ' .. tostring(err)}
    std::string text = "ERR ";
    switch (lua_type(lua, 1)) {
      case LUA_TSTRING:
      case LUA_TNUMBER:
        text += lua_tostring(lua, 1);
        break;
      case LUA_TNIL:
        text += "nil";
        break;
      case LUA_TBOOLEAN:
        text += lua_toboolean(lua, 1) ? "true" : "false";
        break;
      default: {
        char buffer[64];
        std::snprintf(buffer, sizeof(buffer), "%s: %p", luaL_typename(lua, 1),
                      lua_topointer(lua, 1));
        text += buffer;
        break;
      }
    }
    lua_settop(lua, 0);
    lua_createtable(lua, 0, 3);
    lua_pushlstring(lua, text.data(), text.size());
    lua_setfield(lua, -2, "err");
  } else {
    lua_settop(lua, 1);
  }
  if (located) {
    lua_pushstring(lua, info.source);
    lua_setfield(lua, -2, "source");
    lua_pushnumber(lua, info.currentline);
    lua_setfield(lua, -2, "line");
  }
  return 1;
}

}  // namespace

void OpenSandbox(lua_State* lua, int* globals_ref, int* handler_ref) {
  lua_newtable(lua);
  lua_createtable(lua, 0, 1);
  lua_pushstring(lua, "k");
  lua_setfield(lua, -2, "__mode");
  lua_setmetatable(lua, -2);
  lua_setfield(lua, LUA_REGISTRYINDEX, kReadOnlySetKey);

  OpenLibrary(lua, "", luaopen_base);
  OpenLibrary(lua, LUA_TABLIBNAME, luaopen_table);
  OpenLibrary(lua, LUA_STRLIBNAME, luaopen_string);
  OpenLibrary(lua, LUA_MATHLIBNAME, luaopen_math);
  OpenLibrary(lua, "cjson", luaopen_cjson);
  OpenLibrary(lua, "struct", OpenLuaStruct);
  OpenLibrary(lua, "cmsgpack", OpenLuaCmsgpack);
  OpenLibrary(lua, "bit", luaopen_bit);
  // No file access, no printing to the daemon's stdout (Redis's deny list).
  for (const char* name : {"dofile", "loadfile", "print", "newproxy", "getfenv", "setfenv"}) {
    lua_pushnil(lua);
    lua_setglobal(lua, name);
  }
  lua_pushcfunction(lua, RedisPcall);
  lua_setglobal(lua, "pcall");
  // Redis keeps its message handler as a global; scripts can see it there.
  lua_pushcfunction(lua, ScriptErrorHandler);
  lua_setglobal(lua, "__redis__err__handler");

  lua_pushvalue(lua, LUA_GLOBALSINDEX);
  RegisterRedisApi(lua);
  lua_getfield(lua, -1, "math");
  lua_pushcfunction(lua, MathRandom);
  lua_setfield(lua, -2, "random");
  lua_pushcfunction(lua, MathRandomSeed);
  lua_setfield(lua, -2, "randomseed");
  lua_pop(lua, 1);
  // Functions that write into their first argument without metamethods.
  Guard(lua, "rawset");
  Guard(lua, "setmetatable");
  lua_getfield(lua, -1, "next");
  lua_pushcclosure(lua, ProxyAwareNext, 1);
  lua_pushvalue(lua, -1);
  lua_setfield(lua, -3, "next");
  lua_getfield(lua, -2, "pairs");
  lua_pushcclosure(lua, ProxyAwarePairs, 2);
  lua_setfield(lua, -2, "pairs");
  lua_getfield(lua, -1, "table");
  for (const char* name : {"insert", "remove", "sort", "setn"}) Guard(lua, name);
  lua_pop(lua, 1);
  lua_getfield(lua, -1, "loadstring");
  lua_pushvalue(lua, -1);
  lua_pushcclosure(lua, SafeLoad, 1);
  lua_setfield(lua, -3, "load");
  lua_pushcclosure(lua, SafeLoadString, 1);
  lua_setfield(lua, -2, "loadstring");

  // The string metatable's __index is the string library: it must lead to
  // the proxy (getmetatable('').__index == string holds in Redis).
  lua_pushliteral(lua, "");
  lua_getmetatable(lua, -1);  // globals, "", string metatable

  // Replace every library table by its proxy.
  for (const char* name :
       {"string", "table", "math", "cjson", "bit", "struct", "cmsgpack", "redis", "coroutine"}) {
    lua_getfield(lua, -3, name);
    if (!lua_istable(lua, -1)) {
      lua_pop(lua, 1);
      continue;
    }
    MakeProxy(lua);
    if (std::string_view(name) == "string") {
      lua_pushvalue(lua, -1);
      lua_setfield(lua, -3, "__index");
    }
    lua_setfield(lua, -4, name);
  }
  // getmetatable('') shows a read-only view of the string metatable, so
  // no script can break string methods for the scripts after it.
  lua_pushvalue(lua, -1);
  MakeProxy(lua);
  lua_setfield(lua, -2, "__metatable");
  lua_pop(lua, 2);  // "" and its metatable

  // Missing globals are an error.
  lua_createtable(lua, 0, 1);
  lua_pushcfunction(lua, NonexistentGlobal);
  lua_setfield(lua, -2, "__index");
  lua_setmetatable(lua, -2);

  // Scripts see the proxy as their globals and as _G.
  lua_pushvalue(lua, -1);
  *globals_ref = luaL_ref(lua, LUA_REGISTRYINDEX);
  MakeProxy(lua);  // the real globals -> their proxy
  lua_pushvalue(lua, -1);
  lua_rawgeti(lua, LUA_REGISTRYINDEX, *globals_ref);
  lua_insert(lua, -2);
  lua_setfield(lua, -2, "_G");  // real._G = proxy
  lua_pop(lua, 1);
  lua_replace(lua, LUA_GLOBALSINDEX);

  lua_pushcfunction(lua, ScriptErrorHandler);
  *handler_ref = luaL_ref(lua, LUA_REGISTRYINDEX);
}

}  // namespace understudy::server::lua_internal
