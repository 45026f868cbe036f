// Conversions between RESP replies and Lua values, with Redis 7.0's rules:
// a command's reply becomes a Lua value for redis.call, and a script's
// return value becomes the reply to its caller.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <lua.hpp>
#include <string>

#include "server/scripting/lua_internal.h"

namespace understudy::server::lua_internal {
namespace {

// Reads one reply the server wrote (so well formed) and pushes its Lua value.
class ReplyReader {
 public:
  ReplyReader(lua_State* lua, std::string_view reply)
      : lua_(lua), p_(reply.data()), end_(reply.data() + reply.size()) {}

  void Push() {
    if (p_ >= end_) {
      lua_pushnil(lua_);
      return;
    }
    // Every case below pushes at most 3 values before recursing.
    if (!lua_checkstack(lua_, 5)) luaL_error(lua_, "reached lua stack limit");
    const char type = *p_++;
    switch (type) {
      case '+': {
        std::string_view line = Line();
        lua_createtable(lua_, 0, 1);
        lua_pushlstring(lua_, line.data(), line.size());
        lua_setfield(lua_, -2, "ok");
        return;
      }
      case '-': {
        std::string_view line = Line();
        std::string error;
        error.reserve(line.size() + 1);
        error.push_back('-');
        error.append(line);
        PushErrorTable(lua_, error);
        // As Redis: the command already counted its error.
        lua_pushboolean(lua_, 1);
        lua_setfield(lua_, -2, "ignore_error_stats_update");
        return;
      }
      case ':':
        lua_pushnumber(lua_, static_cast<lua_Number>(Integer()));
        return;
      case '$': {
        int64_t length = Integer();
        if (length < 0) {
          lua_pushboolean(lua_, 0);
          return;
        }
        lua_pushlstring(lua_, p_, static_cast<size_t>(length));
        p_ += length + 2;
        return;
      }
      case '*':
      case '>': {
        int64_t count = Integer();
        if (count < 0) {
          lua_pushboolean(lua_, 0);
          return;
        }
        lua_createtable(lua_, static_cast<int>(std::min<int64_t>(count, 1 << 20)), 0);
        for (int64_t i = 0; i < count; ++i) {
          Push();
          lua_rawseti(lua_, -2, static_cast<int>(i + 1));
        }
        return;
      }
      case '%': {
        int64_t pairs = Integer();
        lua_createtable(lua_, 0, 1);
        lua_createtable(lua_, 0, static_cast<int>(std::min<int64_t>(pairs, 1 << 20)));
        for (int64_t i = 0; i < pairs; ++i) {
          Push();
          Push();
          lua_settable(lua_, -3);
        }
        lua_setfield(lua_, -2, "map");
        return;
      }
      case '~': {
        int64_t count = Integer();
        lua_createtable(lua_, 0, 1);
        lua_createtable(lua_, 0, static_cast<int>(std::min<int64_t>(count, 1 << 20)));
        for (int64_t i = 0; i < count; ++i) {
          Push();
          lua_pushboolean(lua_, 1);
          lua_settable(lua_, -3);
        }
        lua_setfield(lua_, -2, "set");
        return;
      }
      case '_':
        Line();
        lua_pushnil(lua_);
        return;
      case '#': {
        std::string_view line = Line();
        lua_pushboolean(lua_, !line.empty() && line[0] == 't');
        return;
      }
      case ',': {
        std::string_view line = Line();
        char buffer[64];
        size_t n = std::min(line.size(), sizeof(buffer) - 1);
        std::memcpy(buffer, line.data(), n);
        buffer[n] = '\0';
        lua_createtable(lua_, 0, 1);
        lua_pushnumber(lua_, std::strtod(buffer, nullptr));
        lua_setfield(lua_, -2, "double");
        return;
      }
      case '(': {
        std::string_view line = Line();
        lua_createtable(lua_, 0, 1);
        lua_pushlstring(lua_, line.data(), line.size());
        lua_setfield(lua_, -2, "big_number");
        return;
      }
      case '=': {
        int64_t length = Integer();
        std::string_view body(p_, static_cast<size_t>(length));
        p_ += length + 2;
        std::string_view format = body.substr(0, 3);
        std::string_view text = body.size() >= 4 ? body.substr(4) : std::string_view();
        lua_createtable(lua_, 0, 1);
        lua_createtable(lua_, 0, 2);
        lua_pushlstring(lua_, text.data(), text.size());
        lua_setfield(lua_, -2, "string");
        lua_pushlstring(lua_, format.data(), format.size());
        lua_setfield(lua_, -2, "format");
        lua_setfield(lua_, -2, "verbatim_string");
        return;
      }
      case '|': {
        // Attributes are not shown to scripts: skip them, keep the reply.
        int64_t pairs = Integer();
        for (int64_t i = 0; i < 2 * pairs; ++i) {
          Push();
          lua_pop(lua_, 1);
        }
        Push();
        return;
      }
      default:
        lua_pushnil(lua_);
        p_ = end_;
        return;
    }
  }

 private:
  // The rest of the current line, stepping past its CRLF.
  std::string_view Line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\r') ++p_;
    std::string_view line(start, static_cast<size_t>(p_ - start));
    p_ = std::min(p_ + 2, end_);
    return line;
  }
  int64_t Integer() {
    std::string_view line = Line();
    bool negative = !line.empty() && line[0] == '-';
    int64_t value = 0;
    for (size_t i = negative ? 1 : 0; i < line.size(); ++i) value = value * 10 + (line[i] - '0');
    return negative ? -value : value;
  }

  lua_State* lua_;
  const char* p_;
  const char* end_;
};

// Redis builds these replies from C strings: they end at a NUL byte.
std::string_view CString(lua_State* lua, int index) {
  const char* text = lua_tostring(lua, index);
  return text == nullptr ? std::string_view() : std::string_view(text);
}

// CR and LF inside a one-line reply become spaces, as Redis's sdsmapchars.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

// (long long)double as x86 does it: out of range and NaN give INT64_MIN.
int64_t Truncate(lua_Number value) {
  if (std::isnan(value) || value >= 9223372036854775808.0 || value < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(value);
}

// Looks up field `name` of the table at -1; true (value pushed) when its
// type is `type`, otherwise pops it and returns false.
bool Field(lua_State* lua, const char* name, int type) {
  lua_pushstring(lua, name);
  lua_gettable(lua, -2);
  if (lua_type(lua, -1) == type) return true;
  lua_pop(lua, 1);
  return false;
}

void WriteTable(lua_State* lua, protocol::ReplyWriter& reply, bool script_resp3) {
  if (Field(lua, "err", LUA_TSTRING)) {
    std::string_view text = CString(lua, -1);
    // As addReplyErrorFormat: surrounding CR/LF go, inner ones become spaces.
    while (!text.empty() && (text.front() == '\r' || text.front() == '\n')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
    bool counted = false;
    lua_pop(lua, 1);
    if (Field(lua, "ignore_error_stats_update", LUA_TBOOLEAN)) {
      counted = lua_toboolean(lua, -1) != 0;
      lua_pop(lua, 1);
    }
    if (counted) {
      // The command that failed inside the script counted it already.
      std::string line = "-" + OneLine(text) + "\r\n";
      reply.Raw(line);
    } else {
      reply.Error(OneLine(text));
    }
    return;
  }
  if (Field(lua, "ok", LUA_TSTRING)) {
    reply.Status(OneLine(CString(lua, -1)));
    lua_pop(lua, 1);
    return;
  }
  if (Field(lua, "double", LUA_TNUMBER)) {
    reply.Double(lua_tonumber(lua, -1));
    lua_pop(lua, 1);
    return;
  }
  if (Field(lua, "big_number", LUA_TSTRING)) {
    size_t length = 0;
    const char* text = lua_tolstring(lua, -1, &length);
    std::string number = OneLine(std::string_view(text, length));
    if (reply.resp3()) {
      reply.Raw("(" + number + "\r\n");
    } else {
      reply.Bulk(number);
    }
    lua_pop(lua, 1);
    return;
  }
  if (Field(lua, "verbatim_string", LUA_TTABLE)) {
    bool done = false;
    if (Field(lua, "format", LUA_TSTRING)) {
      // Redis writes exactly three format bytes, padding with spaces.
      std::string format(CString(lua, -1).substr(0, 3));
      format.resize(3, ' ');
      lua_getfield(lua, -2, "string");
      if (lua_type(lua, -1) == LUA_TSTRING) {
        size_t length = 0;
        const char* text = lua_tolstring(lua, -1, &length);
        reply.Verbatim(std::string_view(text, length), format);
        done = true;
      }
      lua_pop(lua, 1);
      lua_pop(lua, 1);
    }
    lua_pop(lua, 1);
    if (done) return;
  }
  if (Field(lua, "map", LUA_TTABLE)) {
    const size_t mark = reply.BeginDeferred();
    int64_t pairs = 0;
    lua_pushnil(lua);
    while (lua_next(lua, -2) != 0) {
      lua_pushvalue(lua, -2);
      WriteLuaValue(lua, reply, script_resp3);  // the key
      WriteLuaValue(lua, reply, script_resp3);  // the value
      ++pairs;
    }
    reply.EndDeferredMap(mark, pairs);
    lua_pop(lua, 1);
    return;
  }
  if (Field(lua, "set", LUA_TTABLE)) {
    const size_t mark = reply.BeginDeferred();
    int64_t count = 0;
    lua_pushnil(lua);
    while (lua_next(lua, -2) != 0) {
      lua_pop(lua, 1);
      lua_pushvalue(lua, -1);
      WriteLuaValue(lua, reply, script_resp3);
      ++count;
    }
    reply.EndDeferredSet(mark, count);
    lua_pop(lua, 1);
    return;
  }
  // An array: items 1, 2, ... up to the first nil.
  const size_t mark = reply.BeginDeferred();
  int64_t count = 0;
  for (int i = 1;; ++i) {
    lua_pushnumber(lua, i);
    lua_gettable(lua, -2);
    if (lua_isnil(lua, -1)) {
      lua_pop(lua, 1);
      break;
    }
    WriteLuaValue(lua, reply, script_resp3);
    ++count;
  }
  reply.EndDeferredArray(mark, count);
}

}  // namespace

void PushErrorTable(lua_State* lua, std::string_view error) {
  std::string text;
  if (!error.empty() && error[0] == '-') {
    // "-CODE message" keeps its code; a bare "-message" gets ERR.
    size_t space = error.find(' ');
    if (space == std::string_view::npos) {
      text = "ERR " + std::string(error.substr(1));
    } else {
      text = std::string(error.substr(1, space - 1)) + " " + std::string(error.substr(space + 1));
    }
  } else {
    text = "ERR " + std::string(error);
  }
  // Redis's error strings are C strings, its trim runs on both ends of the
  // message part (the code is not trimmed, it has none).
  text = text.substr(0, text.find('\0'));
  size_t code_end = text.find(' ');
  std::string code = text.substr(0, code_end);
  std::string message = code_end == std::string::npos ? "" : text.substr(code_end + 1);
  size_t first = message.find_first_not_of("\r\n");
  size_t last = message.find_last_not_of("\r\n");
  message = first == std::string::npos ? "" : message.substr(first, last - first + 1);
  text = code + " " + message;
  lua_createtable(lua, 0, 1);
  lua_pushlstring(lua, text.data(), text.size());
  lua_setfield(lua, -2, "err");
}

void PushReply(lua_State* lua, std::string_view reply) { ReplyReader(lua, reply).Push(); }

void WriteLuaValue(lua_State* lua, protocol::ReplyWriter& reply, bool script_resp3) {
  if (!lua_checkstack(lua, 4)) {
    reply.Error("ERR reached lua stack limit");
    lua_pop(lua, 1);
    return;
  }
  switch (lua_type(lua, -1)) {
    case LUA_TSTRING: {
      size_t length = 0;
      const char* text = lua_tolstring(lua, -1, &length);
      reply.Bulk(std::string_view(text, length));
      break;
    }
    case LUA_TBOOLEAN:
      if (script_resp3) {
        reply.Bool(lua_toboolean(lua, -1) != 0);
      } else if (lua_toboolean(lua, -1)) {
        reply.Integer(1);
      } else {
        reply.Null();
      }
      break;
    case LUA_TNUMBER:
      reply.Integer(Truncate(lua_tonumber(lua, -1)));
      break;
    case LUA_TTABLE:
      WriteTable(lua, reply, script_resp3);
      break;
    default:
      reply.Null();
      break;
  }
  lua_pop(lua, 1);
}

}  // namespace understudy::server::lua_internal
