#pragma once

// The directive table behind ConfigStore, shared by config.cc (load, CONFIG
// SET/GET) and config_rewrite.cc (CONFIG REWRITE). Internal to server/.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"

namespace understudy::server::config_internal {

using Values = std::span<const std::string_view>;

enum DirectiveFlag : uint32_t {
  kImmutable = 1u << 0,  // only at startup ("can't set immutable config")
  kProtected = 1u << 1,  // Redis 7.0 refuses these at runtime by default
  kMultiArg = 1u << 2,   // takes several words (bind, save); CONFIG SET splits on spaces
};

// How CONFIG REWRITE prints a directive's value.
enum class RewriteStyle {
  kPlain,   // as CONFIG GET shows it: numbers, yes/no, enum names, word lists
  kQuoted,  // a string, always quoted ("" when empty)
  kMemory,  // a byte count, shortened to kb/mb/gb when it is a multiple
};

struct Directive {
  const char* name;
  uint32_t flags;
  RewriteStyle rewrite_style;
  // Parses `values` into the config. `startup` is true while reading the
  // config file or command line (some directives accumulate there).
  std::function<bool(Config&, Values, bool startup, std::string* error)> set;
  // The value as CONFIG GET shows it.
  std::function<std::string(const Config&)> get;

  bool has(DirectiveFlag flag) const { return (flags & flag) != 0; }
};

// Every directive, in the order CONFIG GET * and CONFIG REWRITE list them.
const std::vector<Directive>& Directives();
// Case-insensitive lookup; nullptr when there is no such directive.
const Directive* FindDirective(std::string_view name);
// `text` as a double-quoted config-file string with C-style escapes, the way
// redis-server writes strings into a rewritten config file.
std::string QuoteForConfigFile(std::string_view text);

}  // namespace understudy::server::config_internal
