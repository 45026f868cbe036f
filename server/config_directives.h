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
  // Each config-file line adds one value (class, primary-sentinel). CONFIG
  // GET joins the values with "\n"; CONFIG REWRITE writes one line per value.
  kRepeatable = 1u << 3,
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

// Building blocks of the table (config_directives.cc), shared with the
// directive groups kept in other files.
bool OneValue(Values v, std::string* error);
// Integers as redis.conf takes them: exactly string2ll's syntax, then a
// range check with Redis's error text.
bool ParseIntInRange(std::string_view text, int64_t min, int64_t max, int64_t* out,
                     std::string* error);
Directive String(const char* name, std::string Config::*field, uint32_t flags = 0);
Directive YesNo(const char* name, bool Config::*field, uint32_t flags = 0);

template <typename T>
Directive Integer(const char* name, T Config::*field, int64_t min, int64_t max,
                  uint32_t flags = 0) {
  return Directive{name, flags, RewriteStyle::kPlain,
                   [field, min, max](Config& c, Values v, bool, std::string* error) {
                     int64_t value = 0;
                     if (!OneValue(v, error) || !ParseIntInRange(v[0], min, max, &value, error)) {
                       return false;
                     }
                     c.*field = static_cast<T>(value);
                     return true;
                   },
                   [field](const Config& c) { return std::to_string(c.*field); }};
}

// The key class and primary link directives (config_primary.cc), appended
// to `table` in CONFIG GET order.
void AddPrimaryLinkDirectives(std::vector<Directive>* table);
// ConfigStore::Validate's rules. On failure also lists in *culprits the
// directives involved, so a config file error can point at a line.
bool ValidateConfig(const Config& config, std::string* error,
                    std::vector<std::string_view>* culprits);

// Every directive, in the order CONFIG GET * and CONFIG REWRITE list them.
const std::vector<Directive>& Directives();
// Case-insensitive lookup; nullptr when there is no such directive.
const Directive* FindDirective(std::string_view name);
// `text` as a double-quoted config-file string with C-style escapes, the way
// redis-server writes strings into a rewritten config file.
std::string QuoteForConfigFile(std::string_view text);

}  // namespace understudy::server::config_internal
