// Tests for our implementations of Redis's `struct` and `cmsgpack` Lua
// libraries (server/scripting/lua_libs.h). Each case runs a Lua expression
// in a bare lua_State holding only the base, string, table and math
// libraries plus these two, and compares the result with what the same
// expression returned inside EVAL on redis-server 7.0.15: packed bytes as
// hex, and error messages as pcall reports them (the chunk is named
// "user_script" as Redis names script chunks, so the positions match).

#include "server/scripting/lua_libs.h"

#include <gtest/gtest.h>

#include <string>

extern "C" {
#include <lauxlib.h>
#include <lualib.h>
}

namespace understudy::server {
namespace {

struct Case {
  const char* expr;
  const char* expected;
};

// Expression -> hex of tostring(value), as redis-server returned it.
const Case kValueCases[] = {
    {"struct.pack('>I2', 258)", "0102"},
    {"struct.pack('<I2', 258)", "0201"},
    {"struct.pack('>i', -2)", "fffffffe"},
    {"struct.pack('bBhHlLT', -1, 255, -2, 65535, -3, 4, 5)",
     "fffffefffffffdffffffffffffff04000000000000000500000000000000"},
    {"struct.pack('>i9', -2)", "00fffffffffffffffe"},
    {"struct.pack('I', 1e20)", "00000000"},
    {"struct.pack('L', -1e20)", "0000000000000080"},
    {"struct.pack('i', 3.7)", "03000000"},
    {"struct.pack('i', -3.7)", "fdffffff"},
    {"struct.pack('!4 b i', 1, 2)", "0100000002000000"},
    {"struct.pack('!b d', 1, 2)", "01000000000000000000000000000040"},
    {"struct.pack('<d>f', 1.5, 2.5)", "000000000000f83f40200000"},
    {"struct.pack('c0c2s', 'ab', 'cd', 'e')", "616263646500"},
    {"struct.pack('xc3x', 'abcdef')", "0061626300"},
    {"struct.pack('s', 12)", "313200"},
    {"struct.pack('>I3', 16909060)", "020304"},
    {"struct.pack('<i16', -1)", "ffffffffffffffff0000000000000000"},
    {"table.concat({struct.unpack('>i3I3', 'abcdef')}, ',')", "363338323137392c363537393535382c37"},
    {"table.concat({struct.unpack('<h>H', '\\255\\255\\255\\254')}, ',')", "2d312c36353533342c35"},
    {"table.concat({struct.unpack('c1c0', '3abcd')}, ',')", "6162632c35"},
    {"table.concat({struct.unpack('B', 'ab', 2)}, ',')", "39382c33"},
    {"table.concat({struct.unpack('', 'ab', 4)}, ',')", "34"},
    {"table.concat({struct.unpack('!4 b i', 'abcdefgh')}, ',')", "39372c313735313630363838352c39"},
    {"table.concat({struct.unpack('sB', 'hi\\0z')}, ',')", "68692c3132322c35"},
    {"table.concat({struct.unpack('<f>d', struct.pack('<f>d', 0.25, -1.75))}, ',')",
     "302e32352c2d312e37352c3133"},
    {"tostring(struct.unpack('>i9', 'xffxffxfe'))", "2d3237"},
    {"tostring(struct.unpack('<I8', '\\255\\255\\255\\255\\255\\255\\255\\255'))",
     "312e383434363734343037333731652b3139"},
    {"tostring(struct.unpack('<i8', '\\255\\255\\255\\255\\255\\255\\255\\127'))",
     "392e32323333373230333638353438652b3138"},
    {"struct.size('i!8d') .. ',' .. struct.size('y') .. ',' .. struct.size('c10 x b') .. ',' .. "
     "struct.size('!2bhbi')",
     "31362c302c31322c3130"},
    {"cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -32, -33, "
     "-128, -129, -32768, -32769, -2147483648, -2147483649)",
     "01ff7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000"
     "e0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff"},
    {"cmsgpack.pack(0.5, 0.1, 1e300, -0.0, 2^63, -2^63, 2^53, 2^64)",
     "ca3f000000cb3fb999999999999acb7e37e43c8800759c00ca5f000000d38000"
     "000000000000cf0020000000000000ca5f800000"},
    {"cmsgpack.pack('', 'abc', string.rep('x', 31), string.rep('y', 32))",
     "a0a3616263bf7878787878787878787878787878787878787878787878787878"
     "7878787878d92079797979797979797979797979797979797979797979797979"
     "79797979797979"},
    {"cmsgpack.pack(string.rep('z', 256))",
     "da01007a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a"
     "7a7a7a"},
    {"cmsgpack.pack(true, false, nil)", "c3c2c0"},
    {"cmsgpack.pack({}, {1, 2, 3}, {a = 1}, {[1] = 'a', [3] = 'c'}, {[2] = 'b'}, {[1.5] = 1})",
     "909301020381a161018201a16103a1638102a16281ca3fc0000001"},
    {"cmsgpack.pack({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})",
     "dc00100102030405060708090a0b0c0d0e0f10"},
    {"(function() local t = {1} for i = 1, 17 do t = {t} end return cmsgpack.pack(t) end)()",
     "91919191919191919191919191919191c0"},
    {"cmsgpack.pack(function() end, 7)", "c007"},
    {"(function() local t = {} t[1] = t return cmsgpack.pack(t) end)()",
     "91919191919191919191919191919191c0"},
    {"(function() local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, 'x', {1, 2})) return a .. b .. "
     "#c end)()",
     "317832"},
    {"(function() local t = cmsgpack.unpack(cmsgpack.pack({a = {b = 'c'}, [1] = 2})) return t.a.b "
     ".. t[1] end)()",
     "6332"},
    {"table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}, ',')", "312c31"},
    {"table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}, ',')", "2d312c33"},
    {"table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}, ',')", "322c312c32"},
    {"table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)}, ',')", "2d312c322c33"},
    {"table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 0)}, ',')", "312c322c33"},
    {"table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}, ',')", "31"},
    {"table.concat({cmsgpack.unpack('"
     "\\204\\200\\205\\1\\0\\206\\0\\1\\0\\0\\208\\128\\209\\255\\0\\210\\255\\255\\255\\0\\211\\25"
     "5\\255\\255\\255\\255\\255\\255\\0\\207\\0\\0\\0\\0\\0\\0\\1\\0')}, ',')",
     "3230302c3235362c36353533362c2d3132382c2d3235362c2d3235362c2d3235"
     "362c323536"},
    {"tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))", "2d31"},
    {"table.concat({cmsgpack.unpack('\\217\\3abc\\218\\0\\2de\\219\\0\\0\\0\\1f')}, ',')",
     "6162632c64652c66"},
    {"#cmsgpack.unpack('\\220\\0\\3\\1\\2\\3') .. ',' .. "
     "cmsgpack.unpack('\\222\\0\\1\\161k\\161v').k",
     "332c76"},
    {"tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0')) .. ',' .. "
     "tostring(cmsgpack.unpack('\\203\\63\\248\\0\\0\\0\\0\\0\\0'))",
     "312e352c312e35"},
    {"select('#', cmsgpack.unpack(''))", "30"},
    {"cmsgpack._NAME .. '|' .. cmsgpack._VERSION .. '|' .. cmsgpack._COPYRIGHT .. '|' .. "
     "cmsgpack._DESCRIPTION",
     "636d73677061636b7c6c75612d636d73677061636b20302e342e307c436f7079"
     "72696768742028432920323031322c2053616c7661746f72652053616e66696c"
     "6970706f7c4d6573736167655061636b204320696d706c656d656e746174696f"
     "6e20666f72204c7561"},
    {"cmsgpack.pack(1/0) .. '|' .. cmsgpack.pack(-1/0)", "ca7f8000007ccaff800000"},
    {"struct.pack('<T', 0/0)", "0000000000000080"},
    {"struct.pack('>L', 2^64)", "0000000000000000"},
    {"struct.pack('>L', 2^63 + 2^11)", "8000000000000800"},
    {"struct.pack('>l', -2^63)", "8000000000000000"},
};

// Expression -> the error pcall caught, as redis-server returned it.
const Case kErrorCases[] = {
    {"struct.unpack('c0', 'abc', 0)",
     "user_script:1: bad argument #3 to 'unpack' (offset must be 1 or "
     "greater)"},
    {"struct.unpack('c0', 'abc')", "user_script:1: format 'c0' needs a previous size"},
    {"struct.unpack('c0', '5')", "user_script:1: format 'c0' needs a previous size"},
    {"struct.pack('i99999999999', 1)", "user_script:1: integral size overflow"},
    {"struct.pack('i33', 1)", "user_script:1: integral size 33 is larger than limit of 32"},
    {"struct.pack('!3i', 1)", "user_script:1: alignment 3 is not a power of 2"},
    {"struct.pack('y', 1)",
     "user_script:1: bad argument #1 to 'pack' (invalid format option "
     "'y')"},
    {"struct.pack('=i', 1)",
     "user_script:1: bad argument #1 to 'pack' (invalid format option "
     "'=')"},
    {"struct.size('s')",
     "user_script:1: bad argument #1 to 'size' (option 's' has no fixe"
     "d size)"},
    {"struct.size('c0')",
     "user_script:1: bad argument #1 to 'size' (option 'c0' has no fix"
     "ed size)"},
    {"struct.size('!3')", "user_script:1: alignment 3 is not a power of 2"},
    {"struct.unpack('s', 'abc')", "user_script:1: unfinished string in data"},
    {"struct.unpack('i', 'abc')",
     "user_script:1: bad argument #2 to 'unpack' (data string too shor"
     "t)"},
    {"struct.unpack('B', 'ab', -1)",
     "user_script:1: bad argument #2 to 'unpack' (data string too shor"
     "t)"},
    {"struct.pack('c3', 'ab')", "user_script:1: bad argument #3 to 'pack' (string too short)"},
    {"struct.pack('b', 'x')",
     "user_script:1: bad argument #2 to 'pack' (number expected, got s"
     "tring)"},
    {"struct.pack('b')",
     "user_script:1: bad argument #2 to 'pack' (number expected, got n"
     "il)"},
    {"struct.pack()",
     "user_script:1: bad argument #1 to 'pack' (string expected, got n"
     "o value)"},
    {"struct.unpack('b')",
     "user_script:1: bad argument #2 to 'unpack' (string expected, got"
     " no value)"},
    {"struct.unpack('bc0', '\\255abc')",
     "user_script:1: bad argument #2 to 'unpack' (data string too shor"
     "t)"},
    {"cmsgpack.pack()",
     "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs"
     " input.)"},
    {"cmsgpack.unpack('\\145')", "user_script:1: Missing bytes in input."},
    {"cmsgpack.unpack('\\193')", "user_script:1: Bad data format in input."},
    {"cmsgpack.unpack('\\196\\1a')", "user_script:1: Bad data format in input."},
    {"cmsgpack.unpack('\\161')", "user_script:1: Missing bytes in input."},
    {"cmsgpack.unpack_one('\\1', -1)",
     "user_script:1: Invalid request to unpack with offset of -1 and l"
     "imit of 1."},
    {"cmsgpack.unpack_one('\\1', 5)", "user_script:1: Start offset 5 greater than input length 1."},
    {"cmsgpack.unpack_limit('\\1\\2', -1)",
     "user_script:1: Invalid request to unpack with offset of 0 and li"
     "mit of 2."},
    {"cmsgpack.unpack_limit('\\1\\2')",
     "user_script:1: bad argument #2 to 'unpack_limit' (number expecte"
     "d, got no value)"},
    {"cmsgpack.unpack()",
     "user_script:1: bad argument #1 to 'unpack' (string expected, got"
     " no value)"},
    {"cmsgpack.unpack({})",
     "user_script:1: bad argument #1 to 'unpack' (string expected, got"
     " table)"},
    {"cmsgpack.unpack('\\129\\192\\1')", "table index is nil"},
};

// A Lua state with the libraries under test, closed on destruction.
class LuaLibs {
 public:
  LuaLibs() : L_(luaL_newstate()) {
    for (lua_CFunction open : {luaopen_base, luaopen_table, luaopen_string, luaopen_math}) {
      lua_pushcfunction(L_, open);
      lua_call(L_, 0, 0);
    }
    OpenLuaStruct(L_);
    OpenLuaCmsgpack(L_);
    lua_settop(L_, 0);
  }
  ~LuaLibs() { lua_close(L_); }
  LuaLibs(const LuaLibs&) = delete;
  LuaLibs& operator=(const LuaLibs&) = delete;

  // Runs `body` as a chunk named user_script; returns its string result,
  // or "LUA ERROR: <message>" when loading or running it failed.
  std::string Run(const std::string& body) {
    std::string out;
    if (luaL_loadbuffer(L_, body.data(), body.size(), "=user_script") != 0 ||
        lua_pcall(L_, 0, 1, 0) != 0) {
      out = std::string("LUA ERROR: ") + lua_tostring(L_, -1);
    } else if (const char* s = lua_tostring(L_, -1)) {
      out = s;
    } else {
      out = "NOT A STRING";
    }
    lua_settop(L_, 0);
    return out;
  }

  lua_State* state() { return L_; }

 private:
  lua_State* L_;
};

constexpr char kHex[] =
    "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', "
    "c:byte()) end)) end ";

TEST(LuaLibsTest, ValuesMatchRedis) {
  LuaLibs lua;
  for (const Case& c : kValueCases) {
    EXPECT_EQ(lua.Run(std::string(kHex) + "return hex(tostring(" + c.expr + "))"), c.expected)
        << c.expr;
  }
}

TEST(LuaLibsTest, ErrorsMatchRedis) {
  LuaLibs lua;
  for (const Case& c : kErrorCases) {
    EXPECT_EQ(lua.Run(std::string("local ok, err = pcall(function() return ") + c.expr +
                      " end) if ok then return 'NOERR' end return err"),
              c.expected)
        << c.expr;
  }
}

TEST(LuaLibsTest, OpenReturnsTheTableAndSetsTheGlobal) {
  LuaLibs lua;
  lua_State* L = lua.state();
  EXPECT_EQ(OpenLuaStruct(L), 1);
  ASSERT_TRUE(lua_istable(L, -1));
  lua_getglobal(L, "struct");
  EXPECT_TRUE(lua_rawequal(L, -1, -2));
  lua_settop(L, 0);
  EXPECT_EQ(OpenLuaCmsgpack(L), 1);
  ASSERT_TRUE(lua_istable(L, -1));
  lua_getglobal(L, "cmsgpack");
  EXPECT_TRUE(lua_rawequal(L, -1, -2));
  lua_settop(L, 0);
}

// Values survive a pack/unpack round trip, including nesting and the
// float32/float64 choice.
TEST(LuaLibsTest, CmsgpackRoundTrip) {
  LuaLibs lua;
  EXPECT_EQ(lua.Run("local t = cmsgpack.unpack(cmsgpack.pack({1, {x = 'y'}, 2.5, 0.1, -7, true}))"
                    " return tostring(t[1]) .. t[2].x .. t[3] .. t[4] .. t[5] .. tostring(t[6])"),
            "1y2.50.1-7true");
  EXPECT_EQ(lua.Run("local s = string.rep('q', 70000) return tostring(cmsgpack.unpack("
                    "cmsgpack.pack(s)) == s) .. #cmsgpack.pack(s)"),
            "true70005");
}

// Truncated or malformed input is an error at every prefix, never a crash.
TEST(LuaLibsTest, CmsgpackEveryTruncationFailsCleanly) {
  LuaLibs lua;
  EXPECT_EQ(lua.Run("local s = cmsgpack.pack({a = {1, 2, 'xyz', 1.5, 2^40}, b = string.rep('w', "
                    "300)}) local fails = 0 for i = 1, #s - 1 do local ok = pcall(cmsgpack.unpack,"
                    " s:sub(1, i)) if not ok then fails = fails + 1 end end return tostring(fails "
                    "== #s - 1)"),
            "true");
}

}  // namespace
}  // namespace understudy::server
