// The `struct` library of Redis's Lua: struct.pack, struct.unpack and
// struct.size over a small format language. Written for understudy; the
// behaviour (including the quirks scripts can observe: how out-of-range
// numbers wrap, which argument an error names, that struct.size ignores
// unknown letters) follows the version Redis 7.0 bundles, checked against a
// running redis-server.
//
// Format options: '<' little endian, '>' big endian, '=' and anything else
// not listed is an error ("invalid format option"); '![n]' sets the maximum
// alignment; ' ' is ignored; x padding byte; b/B, h/H, l/L, T, i[n]/I[n]
// integers (signed/unsigned; n bytes, at most 32); f float; d double;
// c[n] n characters (pack: 0 means the whole string; unpack: 0 means "the
// previously read number"); s zero-terminated string.

#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>

#include "server/scripting/lua_libs.h"

extern "C" {
#include <lauxlib.h>
}

namespace understudy::server {
namespace {

// Integers are handled as 64-bit values, the width of `long` on the x86-64
// builds of Redis whose results scripts see.
constexpr int kMaxIntSize = 32;
// Default for '!' without a number: the alignment a double gets in a struct.
constexpr int kMaxAlign = 8;

struct Header {
  bool little = true;  // x86-64 is little endian; '=' is not an option here
  int align = 1;
};

bool IsPowerOf2(long x) { return x > 0 && (x & (x - 1)) == 0; }

// Reads the decimal number at *fmt (advancing past it), or returns `df` when
// no digit follows. Raises "integral size overflow" past INT_MAX.
int ReadNumber(lua_State* L, const char** fmt, int df) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return df;
  int a = 0;
  do {
    int digit = **fmt - '0';
    if (a > INT_MAX / 10 || a * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
    a = a * 10 + digit;
    ++*fmt;
  } while (std::isdigit(static_cast<unsigned char>(**fmt)));
  return a;
}

// Bytes taken by option `opt` (0 for control options and 's'), consuming a
// size suffix for c/i/I.
size_t OptionSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
    case 'x':
      return 1;
    case 'H':
    case 'h':
      return 2;
    case 'L':
    case 'l':
    case 'T':
    case 'd':
      return 8;
    case 'f':
      return 4;
    case 'c':
      return static_cast<size_t>(ReadNumber(L, fmt, 1));
    case 'i':
    case 'I': {
      int size = ReadNumber(L, fmt, 4);
      if (size > kMaxIntSize) {
        luaL_error(L, "integral size %d is larger than limit of %d", size, kMaxIntSize);
      }
      return static_cast<size_t>(size);
    }
    default:
      return 0;
  }
}

// Padding needed before an item of `size` bytes at offset `len`. The mask
// arithmetic assumes powers of two, as Redis's does; other sizes (i3) give
// the same odd padding there.
size_t PaddingFor(size_t len, const Header& h, char opt, size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > static_cast<size_t>(h.align)) size = h.align;
  return (size - (len & (size - 1))) & (size - 1);
}

// Applies an option that is not a data item (' ', '<', '>', '!n'); any other
// letter is an invalid option, reported against argument 1.
void ApplyControl(lua_State* L, char opt, const char** fmt, Header* h) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h->little = false;
      return;
    case '<':
      h->little = true;
      return;
    case '!': {
      int a = ReadNumber(L, fmt, kMaxAlign);
      if (!IsPowerOf2(a)) luaL_error(L, "alignment %d is not a power of 2", a);
      h->align = a;
      return;
    }
    default:
      luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
  }
}

// Truncation of a double to int64 as the x86-64 instruction does it: values
// out of range (and NaN) become INT64_MIN instead of undefined behaviour.
int64_t TruncateLikeX86(double n) {
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(n);
}

// The bit pattern Redis's struct derives from a Lua number: negative
// numbers through a signed conversion, others through an unsigned one
// (which compilers implement by offsetting values from 2^63 up; NaN takes
// the direct path and becomes 2^63).
uint64_t NumberToBits(double n) {
  if (n < 0) return static_cast<uint64_t>(TruncateLikeX86(n));
  if (!(n >= 9223372036854775808.0)) return static_cast<uint64_t>(TruncateLikeX86(n));
  return static_cast<uint64_t>(TruncateLikeX86(n - 9223372036854775808.0)) ^ (uint64_t{1} << 63);
}

// Appends argument `arg` as a `size`-byte integer in the given byte order.
void PutInteger(lua_State* L, luaL_Buffer* b, int arg, bool little, size_t size) {
  uint64_t value = NumberToBits(luaL_checknumber(L, arg));
  char bytes[kMaxIntSize];
  // Bytes past the eighth are zero: the value is only 64 bits wide.
  for (size_t i = 0; i < size; ++i) {
    bytes[little ? i : size - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  luaL_addlstring(b, bytes, size);
}

// Copies `size` bytes (4 or 8) of a float or double in the requested byte
// order into `out`, which is in native (little-endian) order.
void CopyOrdered(const char* from, char* out, size_t size, bool little) {
  for (size_t i = 0; i < size; ++i) out[i] = from[little ? i : size - 1 - i];
}

// Reads a `size`-byte integer at `buff`; only the last 8 bytes read count,
// as Redis keeps the value in a 64-bit long.
double GetInteger(const char* buff, bool little, bool is_signed, size_t size) {
  uint64_t l = 0;
  for (size_t i = 0; i < size; ++i) {
    l <<= 8;
    l |= static_cast<unsigned char>(buff[little ? size - 1 - i : i]);
  }
  if (!is_signed) return static_cast<double>(l);
  // The sign bit's position is taken modulo 64, as the shift instruction
  // does, so sizes above 8 (and 0) behave as on Redis.
  uint64_t mask = ~uint64_t{0} << ((size * 8 - 1) & 63);
  if (l & mask) l |= mask;
  return static_cast<double>(static_cast<int64_t>(l));
}

// struct.pack(fmt, v1, v2, ...) -> string
int StructPack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  int arg = 2;
  size_t total = 0;
  lua_pushnil(L);  // keeps the arguments apart from the buffer's pieces
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    size_t pad = PaddingFor(total, h, opt, size);
    total += pad;
    for (; pad > 0; --pad) luaL_addchar(&b, '\0');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        PutInteger(L, &b, arg++, h.little, size);
        break;
      case 'x':
        luaL_addchar(&b, '\0');
        break;
      case 'f': {
        float f = static_cast<float>(luaL_checknumber(L, arg++));
        char out[4];
        CopyOrdered(reinterpret_cast<const char*>(&f), out, 4, h.little);
        luaL_addlstring(&b, out, 4);
        break;
      }
      case 'd': {
        double d = luaL_checknumber(L, arg++);
        char out[8];
        CopyOrdered(reinterpret_cast<const char*>(&d), out, 8, h.little);
        luaL_addlstring(&b, out, 8);
        break;
      }
      case 'c':
      case 's': {
        size_t len;
        const char* s = luaL_checklstring(L, arg++, &len);
        if (size == 0) size = len;
        // Redis names the argument after this one here; scripts see that.
        luaL_argcheck(L, len >= size, arg, "string too short");
        luaL_addlstring(&b, s, size);
        if (opt == 's') {
          luaL_addchar(&b, '\0');
          ++size;
        }
        break;
      }
      default:
        ApplyControl(L, opt, &fmt, &h);
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

// struct.unpack(fmt, data [, init]) -> v1, v2, ..., next position
int StructUnpack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  size_t ld;
  const char* data = luaL_checklstring(L, 2, &ld);
  // Negative offsets wrap to huge positions and fail as "too short" below.
  size_t pos = static_cast<size_t>(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
  --pos;
  int n = 0;
  Header h;
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    pos += PaddingFor(pos, h, opt, size);
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        lua_pushnumber(L, GetInteger(data + pos, h.little, std::islower(opt), size));
        ++n;
        break;
      case 'x':
        break;
      case 'f': {
        float f;
        CopyOrdered(data + pos, reinterpret_cast<char*>(&f), 4, h.little);
        lua_pushnumber(L, f);
        ++n;
        break;
      }
      case 'd': {
        double d;
        CopyOrdered(data + pos, reinterpret_cast<char*>(&d), 8, h.little);
        lua_pushnumber(L, d);
        ++n;
        break;
      }
      case 'c':
        if (size == 0) {
          // The length is the value just read, which this item replaces.
          if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          size = static_cast<size_t>(TruncateLikeX86(lua_tonumber(L, -1)));
          lua_pop(L, 1);
          --n;
          luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        ++n;
        break;
      case 's': {
        const void* end = std::memchr(data + pos, '\0', ld - pos);
        if (end == nullptr) luaL_error(L, "unfinished string in data");
        size = static_cast<const char*>(end) - (data + pos) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        ++n;
        break;
      }
      default:
        ApplyControl(L, opt, &fmt, &h);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return n + 1;
}

// struct.size(fmt) -> bytes a pack with `fmt` produces; s and c0 have none.
int StructSize(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  size_t pos = 0;
  Header h;
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    pos += PaddingFor(pos, h, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    // Letters and digits are never control options; unknown ones count 0.
    if (!std::isalnum(static_cast<unsigned char>(opt))) ApplyControl(L, opt, &fmt, &h);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

constexpr luaL_Reg kStructFunctions[] = {
    {"pack", StructPack},
    {"unpack", StructUnpack},
    {"size", StructSize},
    {nullptr, nullptr},
};

}  // namespace

int OpenLuaStruct(lua_State* L) {
  luaL_register(L, "struct", kStructFunctions);
  return 1;
}

}  // namespace understudy::server
