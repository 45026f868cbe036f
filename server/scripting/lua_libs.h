// Lua libraries that Redis bundles with its interpreter but Debian does not
// package: `struct` (binary packing, Roberto Ierusalimschy's library as Redis
// ships it) and `cmsgpack` (MessagePack). Our own implementations, matching
// the behaviour and error texts of the versions Redis 7.0 bundles, so that
// scripts written against Redis run unchanged.
#pragma once

extern "C" {
#include <lua.h>
}

namespace understudy::server {

// Registers the global table `struct` with pack, unpack and size. Leaves
// that table on the stack and returns 1, like a luaopen_ function.
int OpenLuaStruct(lua_State* L);

// Registers the global table `cmsgpack` with pack, unpack, unpack_one and
// unpack_limit (plus the _NAME/_VERSION/_COPYRIGHT/_DESCRIPTION fields Redis
// sets). Leaves that table on the stack and returns 1.
int OpenLuaCmsgpack(lua_State* L);

}  // namespace understudy::server
