#include "server/scripting/lua_engine.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <lua.hpp>

#include "server/errors.h"
#include "server/memory_guard.h"
#include "server/scripting/lua_internal.h"
#include "server/server.h"

namespace understudy::server {

namespace lua_internal {

LuaEngine& EngineOf(lua_State* lua) {
  void* engine = nullptr;
  lua_getallocf(lua, &engine);
  return *static_cast<LuaEngine*>(engine);
}

}  // namespace lua_internal

namespace {

using lua_internal::PushErrorTable;

// Lua's default allocator; its user argument carries the engine, so that C
// functions and the hook find it without a registry lookup.
void* Allocate(void*, void* block, size_t, size_t size) {
  if (size == 0) {
    std::free(block);
    return nullptr;
  }
  return std::realloc(block, size);
}

void CountHook(lua_State* lua, lua_Debug*) { lua_internal::EngineOf(lua).OnHook(lua); }

// Instructions between two looks at the clock, as Redis.
constexpr int kHookInstructions = 100000;
// Scripts between two incremental garbage collection steps, as Redis.
constexpr int kGcPeriod = 50;

constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";

// Parses a "#!lua flags=a,b" first line. Returns false with Redis's error.
bool ParseShebang(std::string_view body, ScriptFlags* flags, std::string* error) {
  if (!body.starts_with("#!")) return true;
  flags->has_shebang = true;
  const size_t line_end = body.find('\n');
  if (line_end == std::string_view::npos) {
    *error = "ERR Invalid script shebang";
    return false;
  }
  std::string_view line = body.substr(0, line_end);
  size_t start = 0;
  bool first = true;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    std::string_view part = line.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    if (first) {
      first = false;
      if (part != "#!lua") {
        *error = "ERR Unexpected engine in script shebang: " + std::string(part);
        return false;
      }
      continue;
    }
    if (!part.starts_with("flags=")) {
      *error = "ERR Unknown lua shebang option: " + std::string(part);
      return false;
    }
    std::string_view list = part.substr(6);
    size_t from = 0;
    while (from <= list.size()) {
      size_t comma = list.find(',', from);
      if (comma == std::string_view::npos) comma = list.size();
      std::string_view flag = list.substr(from, comma - from);
      from = comma + 1;
      if (flag.empty()) continue;
      if (flag == "no-writes") {
        flags->no_writes = true;
      } else if (flag == "allow-oom") {
        flags->allow_oom = true;
      } else if (flag != "allow-stale" && flag != "no-cluster" && flag != "allow-cross-slot-keys") {
        *error = "ERR Unexpected flag in script shebang: " + std::string(flag);
        return false;
      }
    }
  }
  return true;
}

}  // namespace

LuaEngine::LuaEngine(Server& server) : server_(server), script_client_(0, 0) {
  // Scripts cannot block: commands answer as they would inside MULTI, and
  // the output of the script's session is never cut by a buffer limit.
  script_client_.in_multi = true;
  script_client_.authenticated = true;
  script_client_.name = "lua";
  Open();
}

LuaEngine::~LuaEngine() { Close(); }

void LuaEngine::Open() {
  lua_ = lua_newstate(Allocate, this);
  lua_internal::OpenSandbox(lua_, &globals_ref_, &error_handler_ref_);
  generation_ = server_.scripts().generation();
  NewScriptArray(keys_);
  NewScriptArray(argv_);
  gc_last_kb_ = lua_gc(lua_, LUA_GCCOUNT, 0);
}

void LuaEngine::NewScriptArray(ScriptArray& array) {
  if (array.ref != 0) luaL_unref(lua_, LUA_REGISTRYINDEX, array.ref);
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, globals_ref_);
  lua_pushstring(lua_, array.name);
  lua_newtable(lua_);
  lua_pushvalue(lua_, -1);
  array.ref = luaL_ref(lua_, LUA_REGISTRYINDEX);
  array.length = 0;
  lua_rawset(lua_, -3);  // the real globals: scripts see it as KEYS / ARGV
  lua_pop(lua_, 1);
}

void LuaEngine::FillScriptArray(ScriptArray& array, std::span<const std::string_view> items) {
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, array.ref);
  const int count = static_cast<int>(items.size());
  for (int i = 0; i < count; ++i) {
    lua_pushlstring(lua_, items[i].data(), items[i].size());
    lua_rawseti(lua_, -2, i + 1);
  }
  for (int i = count; i < array.length; ++i) {
    lua_pushnil(lua_);
    lua_rawseti(lua_, -2, i + 1);
  }
  array.length = count;
  lua_pop(lua_, 1);
}

void LuaEngine::CheckScriptArray(ScriptArray& array) {
  // Clean when it still holds exactly items 1..length and no metatable;
  // anything a script added would otherwise show in the next script.
  lua_rawgeti(lua_, LUA_REGISTRYINDEX, array.ref);
  bool clean = lua_getmetatable(lua_, -1) == 0;
  if (!clean) lua_pop(lua_, 1);  // the metatable
  int entries = 0;
  if (clean) {
    lua_pushnil(lua_);
    while (lua_next(lua_, -2) != 0) {
      lua_pop(lua_, 1);  // the value; the key stays for lua_next
      ++entries;
      const lua_Number index = lua_type(lua_, -1) == LUA_TNUMBER ? lua_tonumber(lua_, -1) : 0;
      if (index < 1 || index > array.length || index != static_cast<int>(index)) {
        clean = false;
        lua_pop(lua_, 1);  // the key: the walk stops here
        break;
      }
    }
  }
  lua_pop(lua_, 1);  // the array
  if (!clean || entries != array.length) NewScriptArray(array);
}

void LuaEngine::Close() {
  if (lua_ != nullptr) lua_close(lua_);
  lua_ = nullptr;
  compiled_.clear();
  keys_.ref = argv_.ref = 0;
}

void LuaEngine::Reset() {
  Close();
  Open();
}

void LuaEngine::SyncGeneration() {
  if (server_.scripts().generation() != generation_) Reset();
}

size_t LuaEngine::memory_bytes() const {
  return lua_ == nullptr ? 0 : static_cast<size_t>(lua_gc(lua_, LUA_GCCOUNT, 0)) * 1024;
}

const LuaEngine::Compiled* LuaEngine::Compile(std::string_view sha, std::string_view body,
                                              std::string* error) {
  ScriptFlags flags;
  if (!ParseShebang(body, &flags, error)) return nullptr;
  // Precompiled chunks could break the interpreter's invariants.
  if (!body.empty() && body[0] == LUA_SIGNATURE[0]) {
    *error =
        "ERR Error compiling script (new function): user_script: binary chunks are not allowed";
    return nullptr;
  }
  std::string commented;
  if (flags.has_shebang) {
    // The shebang line becomes a comment, keeping the line numbers.
    commented.assign(body);
    commented[0] = '-';
    commented[1] = '-';
    body = commented;
  }
  if (luaL_loadbuffer(lua_, body.data(), body.size(), "@user_script") != 0) {
    std::string message = lua_tostring(lua_, -1) ? lua_tostring(lua_, -1) : "";
    lua_pop(lua_, 1);
    *error = "ERR Error compiling script (new function): " + message;
    return nullptr;
  }
  const int ref = luaL_ref(lua_, LUA_REGISTRYINDEX);
  auto [it, inserted] = compiled_.emplace(std::string(sha), Compiled{ref, flags});
  return &it->second;
}

void LuaEngine::Eval(ClientSession& caller, std::string_view body,
                     std::span<const std::string_view> keys, std::span<const std::string_view> argv,
                     bool read_only) {
  SyncGeneration();
  const std::string sha = ScriptCache::Sha1Hex(body);
  const Compiled* compiled = nullptr;
  if (auto it = compiled_.find(std::string_view(sha)); it != compiled_.end()) {
    compiled = &it->second;
  } else {
    std::string error;
    compiled = Compile(sha, body, &error);
    if (compiled == nullptr) {
      caller.writer().Error(error);
      return;
    }
    server_.scripts().Remember(body);
  }
  Run(caller, sha, *compiled, keys, argv, read_only);
}

void LuaEngine::EvalSha(ClientSession& caller, std::string_view sha,
                        std::span<const std::string_view> keys,
                        std::span<const std::string_view> argv, bool read_only) {
  SyncGeneration();
  if (sha.size() != 40) {
    caller.writer().Error(kNoScript);
    return;
  }
  char lower[40];
  for (size_t i = 0; i < 40; ++i) {
    char c = sha[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  const std::string_view key(lower, 40);
  const Compiled* compiled = nullptr;
  if (auto it = compiled_.find(key); it != compiled_.end()) {
    compiled = &it->second;
  } else {
    // Known to the cache (seen on its way to the primary) but not compiled.
    const std::string* body = server_.scripts().BodyOf(key);
    if (body == nullptr) {
      caller.writer().Error(kNoScript);
      return;
    }
    std::string error;
    compiled = Compile(key, *body, &error);
    if (compiled == nullptr) {
      caller.writer().Error(error);
      return;
    }
  }
  Run(caller, key, *compiled, keys, argv, read_only);
}

void LuaEngine::Load(ClientSession& caller, std::string_view body) {
  SyncGeneration();
  const std::string sha = ScriptCache::Sha1Hex(body);
  if (!compiled_.contains(std::string_view(sha))) {
    std::string error;
    if (Compile(sha, body, &error) == nullptr) {
      caller.writer().Error(error);
      return;
    }
  }
  server_.scripts().Remember(body);
  caller.writer().Bulk(sha);
}

void LuaEngine::Run(ClientSession& caller, std::string_view sha, const Compiled& compiled,
                    std::span<const std::string_view> keys, std::span<const std::string_view> argv,
                    bool read_only) {
  const int64_t now_ms = server_.clock().NowMs();
  const Config& config = server_.config();
  // Redis's pre_command_oom_state: whether memory is over maxmemory as the
  // script starts (EVAL itself is not refused for memory).
  const bool oom = config.maxmemory != 0 && !server_.memory_guard().MakeRoom(now_ms);
  read_only_ = read_only || compiled.flags.no_writes;
  if (compiled.flags.has_shebang && !compiled.flags.allow_oom && !read_only_ && oom) {
    caller.writer().Error(errors::kOom);
    return;
  }
  oom_at_start_ = oom;
  allow_oom_ = compiled.flags.allow_oom;

  lua_State* lua = lua_;
  lua_rawgeti(lua, LUA_REGISTRYINDEX, error_handler_ref_);
  lua_rawgeti(lua, LUA_REGISTRYINDEX, compiled.function_ref);
  FillScriptArray(keys_, keys);
  FillScriptArray(argv_, argv);

  script_client_.db_index = caller.db_index;
  script_client_.resp = protocol::RespVersion::kResp2;
  script_client_.reply.clear();
  running_ = true;
  timed_out_ = false;
  kill_requested_ = false;
  wrote_ = false;
  caller_id_ = caller.id();
  start_ms_ = now_ms;
  const bool hooked = config.busy_reply_threshold > 0;
  if (hooked) {
    started_ = std::chrono::steady_clock::now();
    lua_sethook(lua, CountHook, LUA_MASKCOUNT, kHookInstructions);
  }
  const int status = lua_pcall(lua, 0, 1, -2);
  if (hooked) lua_sethook(lua, nullptr, 0, 0);
  running_ = false;
  timed_out_ = false;

  CheckScriptArray(keys_);
  CheckScriptArray(argv_);
  if (--gc_countdown_ == 0) {
    // As Redis, a small collection step every few scripts keeps Lua from
    // running a full cycle at a bad moment; but only when scripts made
    // garbage since the last one, as a step walks the whole (mostly
    // library) heap.
    gc_countdown_ = kGcPeriod;
    const int kb = lua_gc(lua, LUA_GCCOUNT, 0);
    if (kb - gc_last_kb_ >= kGcPeriod) {
      lua_gc(lua, LUA_GCSTEP, kGcPeriod);
      gc_last_kb_ = lua_gc(lua, LUA_GCCOUNT, 0);
    } else if (kb < gc_last_kb_) {
      gc_last_kb_ = kb;  // Lua collected by itself meanwhile
    }
  }

  if (server_.shutdown_requested()) {
    // SHUTDOWN NOSAVE stopped the script: its caller sees the connection
    // close, as with Redis, which exits there and then.
    lua_settop(lua, 0);
    return;
  }
  protocol::ReplyWriter reply = caller.writer();
  if (status == 0) {
    lua_internal::WriteLuaValue(lua, reply, script_client_.resp == protocol::RespVersion::kResp3);
  } else if (!lua_istable(lua, -1)) {
    const char* message = lua_tostring(lua, -1);
    std::string text = "ERR Error running script " + std::string(sha) + ", " +
                       std::string(message ? message : "execution failure").substr(0, 100);
    reply.Error(text);
  } else {
    std::string text;
    lua_getfield(lua, -1, "err");
    if (lua_isstring(lua, -1)) text = lua_tostring(lua, -1);
    lua_pop(lua, 1);
    lua_getfield(lua, -1, "source");
    const bool has_source = lua_isstring(lua, -1);
    std::string source = has_source ? lua_tostring(lua, -1) : "";
    lua_pop(lua, 1);
    lua_getfield(lua, -1, "line");
    const bool has_line = lua_isstring(lua, -1);
    std::string line = has_line ? lua_tostring(lua, -1) : "";
    lua_pop(lua, 1);
    lua_getfield(lua, -1, "ignore_error_stats_update");
    const bool counted = lua_toboolean(lua, -1) != 0;
    lua_pop(lua, 1);
    if (has_source && has_line) {
      text += " script: " + std::string(sha) + ", on " + source + ":" + line + ".";
    }
    for (char& c : text) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    if (counted) {
      reply.Raw("-" + text + "\r\n");
    } else {
      reply.Error(text);
    }
  }
  lua_settop(lua, 0);
}

bool LuaEngine::CollectArguments(lua_State* lua) {
  const int argc = lua_gettop(lua);
  if (argc == 0) {
    PushErrorTable(lua, "Please specify at least one argument for this redis lib call");
    return false;
  }
  call_args_.resize(argc);
  if (number_args_.size() < static_cast<size_t>(argc)) number_args_.resize(argc);
  for (int j = 0; j < argc; ++j) {
    if (lua_type(lua, j + 1) == LUA_TNUMBER) {
      // Not lua_tolstring: its "%.14g" loses precision.
      char buffer[64];
      int length = std::snprintf(buffer, sizeof(buffer), "%.17g",
                                 static_cast<double>(lua_tonumber(lua, j + 1)));
      number_args_[j].assign(buffer, static_cast<size_t>(length));
      call_args_[j] = number_args_[j];
      continue;
    }
    size_t length = 0;
    const char* text =
        lua_type(lua, j + 1) == LUA_TSTRING ? lua_tolstring(lua, j + 1, &length) : nullptr;
    if (text == nullptr) {
      lua_settop(lua, 0);
      PushErrorTable(lua, "Lua redis lib command arguments must be strings or integers");
      return false;
    }
    call_args_[j] = std::string_view(text, length);
  }
  return true;
}

std::string_view LuaEngine::AdmitScriptCommand(const CommandSpec* spec, size_t argc) {
  if (spec == nullptr) return "Unknown Redis command called from script";
  if (!spec->ArityOk(argc)) return "Wrong number of args calling Redis command from script";
  if (spec->has(kCmdNoScript)) return "This Redis command is not allowed from script";
  const bool writes = spec->has(kCmdWrite);
  if (read_only_ && (writes || spec->has(kCmdMayReplicate))) {
    return "Write commands are not allowed from read-only scripts.";
  }
  // As Redis: memory is judged as the script started, and only until the
  // script has written (a script that wrote must be able to finish).
  if (oom_at_start_ && !allow_oom_ && !wrote_ && spec->has(kCmdDenyOom)) {
    return "-OOM command not allowed when used memory > 'maxmemory'.";
  }
  return {};
}

bool LuaEngine::CallFromScript(lua_State* lua) {
  if (!running_) {
    lua_settop(lua, 0);
    PushErrorTable(lua, "redis.call/pcall can only be called inside a script invocation");
    return false;
  }
  if (!CollectArguments(lua)) return false;
  const std::span<const std::string_view> args(call_args_);
  const CommandSpec* spec = server_.commands().Lookup(args).spec;
  std::string_view refusal = AdmitScriptCommand(spec, args.size());
  if (!refusal.empty()) {
    lua_settop(lua, 0);
    PushErrorTable(lua, refusal);
    return false;
  }
  if (spec->has(kCmdWrite)) wrote_ = true;
  script_client_.reply.clear();
  // Through Server::Call, like any client's command: that is where a write
  // is journaled during an outage, one record per command the script ran.
  server_.Call(script_client_, *spec, args, start_ms_);
  lua_settop(lua, 0);
  const std::string& reply = script_client_.reply;
  const bool ok = reply.empty() || reply[0] != '-';
  lua_internal::PushReply(lua, reply);
  script_client_.reply.clear();
  return ok;
}

bool LuaEngine::KnowsCommand(lua_State* lua) {
  if (!CollectArguments(lua)) return false;
  return server_.commands().Lookup(std::span<const std::string_view>(call_args_)).spec != nullptr;
}

std::string_view LuaEngine::Kill() {
  if (!running_) return "NOTBUSY No scripts in execution right now.";
  if (wrote_) {
    return "UNKILLABLE Sorry the script already executed write commands against the dataset. "
           "You can either wait the script termination or kill the server in a hard way using "
           "the SHUTDOWN NOSAVE command.";
  }
  kill_requested_ = true;
  return "OK";
}

void LuaEngine::OnHook(lua_State* lua) {
  if (!timed_out_) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started_)
                             .count();
    if (elapsed >= server_.config().busy_reply_threshold) {
      timed_out_ = true;
      spdlog::warn(
          "Slow script detected: still in execution after {} milliseconds. You can try killing "
          "the script using the SCRIPT KILL command.",
          elapsed);
    }
  }
  if (timed_out_ && !kill_requested_) server_.ServeWhileBusy(caller_id_);
  if (kill_requested_) {
    spdlog::warn("Lua script killed by user with SCRIPT KILL.");
    // From now on every line raises, so a pcall cannot catch it for good.
    lua_sethook(lua, CountHook, LUA_MASKLINE, 0);
    PushErrorTable(lua, "Script killed by user with SCRIPT KILL...");
    lua_error(lua);
  }
}

}  // namespace understudy::server
