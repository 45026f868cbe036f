// The `cmsgpack` library of Redis's Lua (MessagePack), written for
// understudy. Encoding choices follow the lua-cmsgpack 0.4.0 that Redis 7.0
// bundles, since scripts and their callers compare the bytes:
// - a number that is an integer in the int64 range is packed as the
//   smallest integer format, any other number as float32 when that is exact
//   and float64 otherwise;
// - a table whose keys are exactly the integers 1..n is an array (so {} is
//   an empty array), any other table a map;
// - tables nested 16 deep are packed as nil (which also ends cycles);
// - functions, userdata, nil and the like are packed as nil.
// Decoding understands the formats that encoder produces plus str8, int and
// uint of every width; bin, ext and the like are "Bad data format".

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "server/scripting/lua_libs.h"

extern "C" {
#include <lauxlib.h>
}

namespace understudy::server {
namespace {

constexpr int kMaxNesting = 16;

// Appends big-endian `bytes` bytes of `v` to `out`.
void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Appends a string: fixstr below 32 bytes, then str8, str16, str32.
void EncodeBytes(std::string* out, const char* s, size_t len) {
  if (len < 32) {
    out->push_back(static_cast<char>(0xa0 | len));
  } else if (len <= 0xff) {
    out->push_back(static_cast<char>(0xd9));
    PutBigEndian(out, len, 1);
  } else if (len <= 0xffff) {
    out->push_back(static_cast<char>(0xda));
    PutBigEndian(out, len, 2);
  } else {
    out->push_back(static_cast<char>(0xdb));
    PutBigEndian(out, len, 4);  // only the low 32 bits of the length, as Redis
  }
  out->append(s, len);
}

// Appends a non-integral number: float32 when it converts exactly (0.5,
// infinities), float64 otherwise (0.1, NaN).
void EncodeDouble(std::string* out, double d) {
  float f = static_cast<float>(d);
  if (d == static_cast<double>(f)) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    out->push_back(static_cast<char>(0xca));
    PutBigEndian(out, bits, 4);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out->push_back(static_cast<char>(0xcb));
    PutBigEndian(out, bits, 8);
  }
}

// Appends an integer in the smallest format: fixint, then uint8..64 for
// non-negative values and int8..64 for negative ones.
void EncodeInt(std::string* out, int64_t n) {
  uint64_t u = static_cast<uint64_t>(n);
  if (n >= 0) {
    if (n <= 127) {
      out->push_back(static_cast<char>(n));
    } else if (n <= 0xff) {
      out->push_back(static_cast<char>(0xcc));
      PutBigEndian(out, u, 1);
    } else if (n <= 0xffff) {
      out->push_back(static_cast<char>(0xcd));
      PutBigEndian(out, u, 2);
    } else if (n <= 0xffffffffLL) {
      out->push_back(static_cast<char>(0xce));
      PutBigEndian(out, u, 4);
    } else {
      out->push_back(static_cast<char>(0xcf));
      PutBigEndian(out, u, 8);
    }
  } else {
    if (n >= -32) {
      out->push_back(static_cast<char>(n));
    } else if (n >= -128) {
      out->push_back(static_cast<char>(0xd0));
      PutBigEndian(out, u, 1);
    } else if (n >= -32768) {
      out->push_back(static_cast<char>(0xd1));
      PutBigEndian(out, u, 2);
    } else if (n >= -2147483648LL) {
      out->push_back(static_cast<char>(0xd2));
      PutBigEndian(out, u, 4);
    } else {
      out->push_back(static_cast<char>(0xd3));
      PutBigEndian(out, u, 8);
    }
  }
}

// Array and map headers: fix form up to 15 entries, then 16 and 32 bits.
void EncodeHeader(std::string* out, uint64_t n, unsigned char fix, unsigned char h16) {
  if (n <= 15) {
    out->push_back(static_cast<char>(fix | n));
  } else if (n <= 65535) {
    out->push_back(static_cast<char>(h16));
    PutBigEndian(out, n, 2);
  } else {
    out->push_back(static_cast<char>(h16 + 1));
    PutBigEndian(out, n, 4);
  }
}

// True when `n` converts to int64 without loss.
bool IsInt64Exact(double n) {
  return n >= -9223372036854775808.0 && n < 9223372036854775808.0 && std::floor(n) == n;
}

// True when the table on top of the stack has exactly the keys 1..n (all
// numbers that are positive ints), the test Redis uses to pick an array.
bool TableIsArray(lua_State* L) {
  int top = lua_gettop(L);
  luaL_checkstack(L, 2, "in function table_is_an_array");
  long count = 0;
  long max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    double n;
    if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 ||
        !(n < 2147483648.0 && std::floor(n) == n)) {
      lua_settop(L, top);
      return false;
    }
    if (n > max) max = static_cast<long>(n);
    ++count;
  }
  lua_settop(L, top);
  return max == count;
}

void EncodeValue(lua_State* L, std::string* out, int level);

// Encodes the table on top of the stack (leaving it there).
void EncodeTable(lua_State* L, std::string* out, int level) {
  if (TableIsArray(L)) {
    size_t len = lua_objlen(L, -1);
    EncodeHeader(out, len, 0x90, 0xdc);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t j = 1; j <= len; ++j) {
      lua_pushnumber(L, static_cast<lua_Number>(j));
      lua_gettable(L, -2);
      EncodeValue(L, out, level + 1);
    }
    return;
  }
  luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
  size_t len = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    ++len;
  }
  EncodeHeader(out, len, 0x80, 0xde);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);            // key value key
    EncodeValue(L, out, level + 1);  // the key copy
    EncodeValue(L, out, level + 1);  // the value; the key stays for lua_next
  }
}

// Encodes the value on top of the stack and pops it.
void EncodeValue(lua_State* L, std::string* out, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kMaxNesting) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeBytes(out, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      out->push_back(static_cast<char>(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER: {
      double n = lua_tonumber(L, -1);
      if (IsInt64Exact(n)) {
        EncodeInt(out, static_cast<int64_t>(n));
      } else {
        EncodeDouble(out, n);
      }
      break;
    }
    case LUA_TTABLE:
      EncodeTable(L, out, level);
      break;
    default:
      out->push_back(static_cast<char>(0xc0));
  }
  lua_pop(L, 1);
}

// The output buffer lives in a Lua userdata so that a Lua error raised
// while encoding (a metamethod, a stack check) cannot leak it: the
// collector runs the destructor.
int FreeBuffer(lua_State* L) {
  std::destroy_at(static_cast<std::string*>(lua_touserdata(L, 1)));
  return 0;
}

constexpr char kBufferMeta[] = "understudy.cmsgpack.buffer";

std::string* NewBuffer(lua_State* L) {
  void* mem = lua_newuserdata(L, sizeof(std::string));
  auto* buf = new (mem) std::string();
  if (luaL_newmetatable(L, kBufferMeta)) {
    lua_pushcfunction(L, FreeBuffer);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return buf;
}

// cmsgpack.pack(v1, v2, ...) -> the encodings of every argument, joined.
int Pack(lua_State* L) {
  int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  std::string* buf = NewBuffer(L);
  lua_insert(L, 1);  // below the arguments, out of the encoder's way
  for (int i = 2; i <= nargs + 1; ++i) {
    luaL_checkstack(L, 1, "in function mp_check");
    lua_pushvalue(L, i);
    EncodeValue(L, buf, 0);
  }
  lua_pushlstring(L, buf->data(), buf->size());
  return 1;
}

// ---- decoding ----

struct Cursor {
  const unsigned char* p;
  size_t left;
  enum { kOk, kEof, kBadFormat } err = kOk;
};

// The big-endian unsigned value of the `bytes` bytes at `p`.
uint64_t ReadBigEndian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

void DecodeValue(lua_State* L, Cursor* c);

// Pushes a table of `len` decoded values at keys 1..len (stops early on
// an error in the cursor).
void DecodeArray(lua_State* L, Cursor* c, size_t len) {
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  for (size_t index = 1; index <= len; ++index) {
    lua_pushnumber(L, static_cast<lua_Number>(index));
    DecodeValue(L, c);
    if (c->err != Cursor::kOk) return;
    lua_settable(L, -3);
  }
}

// Pushes a table of `len` decoded key/value pairs (a nil or NaN key raises
// Lua's own "table index is nil/NaN", as on Redis).
void DecodeMap(lua_State* L, Cursor* c, size_t len) {
  lua_newtable(L);
  while (len-- > 0) {
    DecodeValue(L, c);
    if (c->err != Cursor::kOk) return;
    DecodeValue(L, c);
    if (c->err != Cursor::kOk) return;
    lua_settable(L, -3);
  }
}

// Pushes the object at the cursor and consumes it; on short input or an
// unknown type byte sets c->err instead (possibly with partial values left
// on the stack, which the error that follows discards).
void DecodeValue(lua_State* L, Cursor* c) {
  auto need = [c](size_t n) {
    if (c->left < n) {
      c->err = Cursor::kEof;
      return false;
    }
    return true;
  };
  auto consume = [c](size_t n) {
    c->p += n;
    c->left -= n;
  };
  if (!need(1)) return;
  luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
  const unsigned char type = c->p[0];
  // Fixed-width numbers: {type byte, payload bytes, signed}.
  int width = 0;
  bool is_signed = false;
  switch (type) {
    case 0xcc:
      width = 1;
      break;
    case 0xcd:
      width = 2;
      break;
    case 0xce:
      width = 4;
      break;
    case 0xcf:
      width = 8;
      break;
    case 0xd0:
      width = 1;
      is_signed = true;
      break;
    case 0xd1:
      width = 2;
      is_signed = true;
      break;
    case 0xd2:
      width = 4;
      is_signed = true;
      break;
    case 0xd3:
      width = 8;
      is_signed = true;
      break;
    default:
      break;
  }
  if (width > 0) {
    if (!need(1 + width)) return;
    uint64_t v = ReadBigEndian(c->p + 1, width);
    if (is_signed && width < 8 && (v >> (8 * width - 1)) != 0) v |= ~uint64_t{0} << (8 * width);
    // uint64 values past INT64_MAX come out negative, as on Redis.
    lua_pushnumber(L, static_cast<lua_Number>(static_cast<int64_t>(v)));
    consume(1 + width);
    return;
  }
  switch (type) {
    case 0xc0:
      lua_pushnil(L);
      consume(1);
      return;
    case 0xc2:
    case 0xc3:
      lua_pushboolean(L, type == 0xc3);
      consume(1);
      return;
    case 0xca: {
      if (!need(5)) return;
      uint32_t bits = static_cast<uint32_t>(ReadBigEndian(c->p + 1, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      lua_pushnumber(L, f);
      consume(5);
      return;
    }
    case 0xcb: {
      if (!need(9)) return;
      uint64_t bits = ReadBigEndian(c->p + 1, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      lua_pushnumber(L, d);
      consume(9);
      return;
    }
    case 0xd9:
    case 0xda:
    case 0xdb: {
      int lw = type == 0xd9 ? 1 : type == 0xda ? 2 : 4;
      if (!need(1 + lw)) return;
      size_t len = ReadBigEndian(c->p + 1, lw);
      consume(1 + lw);
      if (!need(len)) return;
      lua_pushlstring(L, reinterpret_cast<const char*>(c->p), len);
      consume(len);
      return;
    }
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      int lw = (type == 0xdc || type == 0xde) ? 2 : 4;
      if (!need(1 + lw)) return;
      size_t len = ReadBigEndian(c->p + 1, lw);
      consume(1 + lw);
      if (type <= 0xdd) {
        DecodeArray(L, c, len);
      } else {
        DecodeMap(L, c, len);
      }
      return;
    }
    default:
      break;
  }
  if ((type & 0x80) == 0) {  // positive fixint
    lua_pushnumber(L, type);
    consume(1);
  } else if ((type & 0xe0) == 0xe0) {  // negative fixint
    lua_pushnumber(L, static_cast<signed char>(type));
    consume(1);
  } else if ((type & 0xe0) == 0xa0) {  // fixstr
    size_t len = type & 0x1f;
    if (!need(1 + len)) return;
    lua_pushlstring(L, reinterpret_cast<const char*>(c->p + 1), len);
    consume(1 + len);
  } else if ((type & 0xf0) == 0x90) {  // fixarray
    consume(1);
    DecodeArray(L, c, type & 0xf);
  } else if ((type & 0xf0) == 0x80) {  // fixmap
    consume(1);
    DecodeMap(L, c, type & 0xf);
  } else {
    c->err = Cursor::kBadFormat;
  }
}

// Decodes up to `limit` objects of the string at index 1 from byte
// `offset`. With limit and offset both 0 decodes everything and returns the
// values alone; otherwise returns the next offset (-1 at the end) first.
int UnpackFull(lua_State* L, lua_Integer limit, lua_Integer offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  bool decode_all = limit == 0 && offset == 0;
  if (offset < 0 || limit < 0) {
    // Redis prints the input length where the limit is meant; kept.
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  }
  if (static_cast<size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(len));
  }
  if (decode_all) limit = INT_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - static_cast<size_t>(offset)};
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) {
    DecodeValue(L, &c);
    if (c.err == Cursor::kEof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == Cursor::kBadFormat) return luaL_error(L, "Bad data format in input.");
  }
  if (decode_all) return count;
  luaL_checkstack(L, 1, "in function mp_unpack_full");
  lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
  lua_insert(L, 2);
  return count + 1;
}

// cmsgpack.unpack(s) -> every object in s
int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

// cmsgpack.unpack_one(s [, offset]) -> next offset, object
int UnpackOne(lua_State* L) {
  lua_Integer offset = luaL_optinteger(L, 2, 0);
  lua_settop(L, 1);
  return UnpackFull(L, 1, offset);
}

// cmsgpack.unpack_limit(s, limit [, offset]) -> next offset, objects
int UnpackLimit(lua_State* L) {
  lua_Integer limit = luaL_checkinteger(L, 2);
  lua_Integer offset = luaL_optinteger(L, 3, 0);
  lua_settop(L, 1);
  return UnpackFull(L, limit, offset);
}

}  // namespace

int OpenLuaCmsgpack(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, Pack);
  lua_setfield(L, -2, "pack");
  lua_pushcfunction(L, Unpack);
  lua_setfield(L, -2, "unpack");
  lua_pushcfunction(L, UnpackOne);
  lua_setfield(L, -2, "unpack_one");
  lua_pushcfunction(L, UnpackLimit);
  lua_setfield(L, -2, "unpack_limit");
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  lua_pushvalue(L, -1);
  lua_setglobal(L, "cmsgpack");
  return 1;
}

}  // namespace understudy::server
