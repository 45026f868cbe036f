// The directive table: how each configuration directive is parsed into
// Config and printed back, with redis-server 7.0's value syntax and error
// texts (string2ll integers, memtoull sizes, enum lists...).
#include "server/config_directives.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/config_text.h"
#include "common/numbers.h"

namespace understudy::server {
namespace config_internal {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string RangeError(int64_t min, int64_t max) {
  return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
         " inclusive";
}

}  // namespace

bool OneValue(Values v, std::string* error) {
  if (v.size() == 1) return true;
  *error = "wrong number of arguments";
  return false;
}

// No '+', no leading zeros, no spaces.
bool ParseIntInRange(std::string_view text, int64_t min, int64_t max, int64_t* out,
                     std::string* error) {
  int64_t value = 0;
  if (!ParseInt64(text, &value)) {
    *error = "argument couldn't be parsed into an integer";
    return false;
  }
  if (value < min || value > max) {
    *error = RangeError(min, max);
    return false;
  }
  *out = value;
  return true;
}

namespace {

// Memory sizes as Redis's memtoull() reads them: digits, then an optional
// unit b, k (1000), kb (1024), m, mb, g, gb in any case. A minus sign or any
// other suffix is an error; no digits at all reads as 0; like Redis, an
// overlong number saturates and a product that overflows wraps.
bool ParseMemory(std::string_view text, uint64_t* out, std::string* error) {
  *error = "argument must be a memory value";
  if (!text.empty() && text[0] == '-') return false;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string unit = Lower(text.substr(digits));
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "b") {
    multiplier = 1;
  } else if (unit == "k") {
    multiplier = 1000;
  } else if (unit == "kb") {
    multiplier = 1024;
  } else if (unit == "m") {
    multiplier = 1000 * 1000;
  } else if (unit == "mb") {
    multiplier = 1024 * 1024;
  } else if (unit == "g") {
    multiplier = 1000ULL * 1000 * 1000;
  } else if (unit == "gb") {
    multiplier = 1024ULL * 1024 * 1024;
  } else {
    return false;
  }
  if (digits >= 128) return false;  // Redis copies the digits into a 128-byte buffer
  uint64_t value = 0;
  for (size_t i = 0; i < digits; ++i) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      value = UINT64_MAX;  // strtoull saturates
      break;
    }
    value = value * 10 + digit;
  }
  *out = value * multiplier;
  error->clear();
  return true;
}

bool ParseYesNo(std::string_view text, bool* out, std::string* error) {
  std::string lower = Lower(text);
  if (lower == "yes") {
    *out = true;
    return true;
  }
  if (lower == "no") {
    *out = false;
    return true;
  }
  *error = "argument must be 'yes' or 'no'";
  return false;
}

// A signed memory directive (proto-max-bulk-len...): memtoull's result is
// taken as a signed number and then range checked, as Redis does.
Directive SignedMemory(const char* name, int64_t Config::*field, int64_t min, int64_t max) {
  return Directive{name, 0, RewriteStyle::kMemory,
                   [field, min, max](Config& c, Values v, bool, std::string* error) {
                     uint64_t raw = 0;
                     if (!OneValue(v, error) || !ParseMemory(v[0], &raw, error)) return false;
                     int64_t value = static_cast<int64_t>(raw);
                     if (value < min || value > max) {
                       *error = RangeError(min, max);
                       return false;
                     }
                     c.*field = value;
                     return true;
                   },
                   [field](const Config& c) { return std::to_string(c.*field); }};
}

}  // namespace

Directive String(const char* name, std::string Config::*field, uint32_t flags) {
  return Directive{name, flags, RewriteStyle::kQuoted,
                   [field](Config& c, Values v, bool, std::string* error) {
                     if (!OneValue(v, error)) return false;
                     c.*field = std::string(v[0]);
                     return true;
                   },
                   [field](const Config& c) { return c.*field; }};
}

Directive YesNo(const char* name, bool Config::*field, uint32_t flags) {
  return Directive{name, flags, RewriteStyle::kPlain,
                   [field](Config& c, Values v, bool, std::string* error) {
                     return OneValue(v, error) && ParseYesNo(v[0], &(c.*field), error);
                   },
                   [field](const Config& c) { return std::string(c.*field ? "yes" : "no"); }};
}

namespace {

Directive Enum(const char* name, std::string Config::*field, std::vector<std::string> allowed,
               uint32_t flags = 0) {
  return Directive{name, flags, RewriteStyle::kPlain,
                   [field, allowed](Config& c, Values v, bool, std::string* error) {
                     if (!OneValue(v, error)) return false;
                     std::string lower = Lower(v[0]);
                     for (const std::string& option : allowed) {
                       if (option == lower) {
                         c.*field = lower;
                         return true;
                       }
                     }
                     *error = "argument(s) must be one of the following: ";
                     for (size_t i = 0; i < allowed.size(); ++i) {
                       if (i > 0) *error += ", ";
                       *error += allowed[i];
                     }
                     return false;
                   },
                   [field](const Config& c) { return c.*field; }};
}

// A yes/no directive of which understudy supports only one answer.
Directive FixedYesNo(const char* name, bool Config::*field, bool supported, const char* why,
                     uint32_t flags) {
  return Directive{name, flags, RewriteStyle::kPlain,
                   [field, supported, why](Config& c, Values v, bool, std::string* error) {
                     bool value = false;
                     if (!OneValue(v, error) || !ParseYesNo(v[0], &value, error)) return false;
                     if (value != supported) {
                       *error = why;
                       return false;
                     }
                     c.*field = value;
                     return true;
                   },
                   [field](const Config& c) { return std::string(c.*field ? "yes" : "no"); }};
}

// notify-keyspace-events classes, as bits.
enum KeyspaceEventClass : int {
  kEventKeyspace = 1 << 0,  // K
  kEventKeyevent = 1 << 1,  // E
  kEventGeneric = 1 << 2,   // g
  kEventString = 1 << 3,    // $
  kEventList = 1 << 4,      // l
  kEventSet = 1 << 5,       // s
  kEventHash = 1 << 6,      // h
  kEventZset = 1 << 7,      // z
  kEventExpired = 1 << 8,   // x
  kEventEvicted = 1 << 9,   // e
  kEventStream = 1 << 10,   // t
  kEventKeyMiss = 1 << 11,  // m
  kEventModule = 1 << 12,   // d
  kEventNewKey = 1 << 13,   // n
  kEventAll = kEventGeneric | kEventString | kEventList | kEventSet | kEventHash | kEventZset |
              kEventExpired | kEventEvicted | kEventStream | kEventModule,  // A
};

bool ParseKeyspaceEvents(std::string_view text, int* out) {
  int flags = 0;
  for (char c : text) {
    switch (c) {
      case 'A':
        flags |= kEventAll;
        break;
      case 'g':
        flags |= kEventGeneric;
        break;
      case '$':
        flags |= kEventString;
        break;
      case 'l':
        flags |= kEventList;
        break;
      case 's':
        flags |= kEventSet;
        break;
      case 'h':
        flags |= kEventHash;
        break;
      case 'z':
        flags |= kEventZset;
        break;
      case 'x':
        flags |= kEventExpired;
        break;
      case 'e':
        flags |= kEventEvicted;
        break;
      case 'K':
        flags |= kEventKeyspace;
        break;
      case 'E':
        flags |= kEventKeyevent;
        break;
      case 't':
        flags |= kEventStream;
        break;
      case 'm':
        flags |= kEventKeyMiss;
        break;
      case 'd':
        flags |= kEventModule;
        break;
      case 'n':
        flags |= kEventNewKey;
        break;
      default:
        return false;
    }
  }
  *out = flags;
  return true;
}

// The canonical spelling Redis prints back: "A" when every class of A is on,
// else the classes one by one, then K, E and m.
std::string FormatKeyspaceEvents(int flags) {
  std::string out;
  if ((flags & kEventAll) == kEventAll) {
    out += 'A';
  } else {
    static constexpr std::pair<int, char> kClasses[] = {
        {kEventGeneric, 'g'}, {kEventString, '$'}, {kEventList, 'l'},    {kEventSet, 's'},
        {kEventHash, 'h'},    {kEventZset, 'z'},   {kEventExpired, 'x'}, {kEventEvicted, 'e'},
        {kEventStream, 't'},  {kEventModule, 'd'}, {kEventNewKey, 'n'}};
    for (const auto& [bit, letter] : kClasses) {
      if (flags & bit) out += letter;
    }
  }
  if (flags & kEventKeyspace) out += 'K';
  if (flags & kEventKeyevent) out += 'E';
  if (flags & kEventKeyMiss) out += 'm';
  return out;
}

// save <seconds> <changes> [<seconds> <changes> ...], or save "" for none.
// In a config file several save lines add up, as in redis.conf.
bool SetSave(Config& c, Values v, bool startup, std::string* error) {
  if (v.size() == 1 && v[0].empty()) {
    c.save.clear();
    return true;
  }
  if (v.size() % 2 != 0) {
    *error = "Invalid save parameters";
    return false;
  }
  std::string normalized;
  for (size_t i = 0; i < v.size(); ++i) {
    // strtoll with a check that the whole word was used: leading zeros and
    // '+' pass, as in Redis.
    std::string word(v[i]);
    char* end = nullptr;
    errno = 0;
    long long value = word.empty() ? -1 : std::strtoll(word.c_str(), &end, 10);
    bool valid = !word.empty() && *end == '\0' && (i % 2 == 0 ? value >= 1 : value >= 0);
    if (!valid) {
      *error = "Invalid save parameters";
      return false;
    }
    if (!normalized.empty()) normalized += ' ';
    normalized += std::to_string(value);
  }
  if (startup && !c.save.empty() && !normalized.empty()) {
    c.save += " " + normalized;
  } else {
    c.save = normalized;
  }
  return true;
}

// client-output-buffer-limit <class> <hard> <soft> <soft seconds> [...]:
// the classes named change, the others keep their limits; all or nothing.
// Classes: normal, replica (or slave), pubsub, in any case.
bool SetOutputBufferLimits(Config& c, Values v, bool, std::string* error) {
  if (v.size() % 4 != 0) {
    *error = "Wrong number of arguments in buffer limit configuration.";
    return false;
  }
  auto limits = c.client_output_buffer_limit;
  for (size_t i = 0; i < v.size(); i += 4) {
    const std::string name = Lower(v[i]);
    size_t client_class;
    if (name == "normal") {
      client_class = kClientNormal;
    } else if (name == "replica" || name == "slave") {
      client_class = kClientReplica;
    } else if (name == "pubsub") {
      client_class = kClientPubSub;
    } else {
      *error = "Invalid client class specified in buffer limit configuration.";
      return false;
    }
    OutputBufferLimit limit;
    std::string ignored;
    // The seconds go through strtoll into an int, as in Redis: anything
    // after the digits is an error, and a value that wraps negative too.
    const std::string seconds_text(v[i + 3]);
    char* end = nullptr;
    const long long seconds = std::strtoll(seconds_text.c_str(), &end, 10);
    limit.soft_seconds = static_cast<int32_t>(static_cast<uint32_t>(seconds));
    if (!ParseMemory(v[i + 1], &limit.hard_bytes, &ignored) ||
        !ParseMemory(v[i + 2], &limit.soft_bytes, &ignored) || *end != '\0' ||
        limit.soft_seconds < 0) {
      *error = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      return false;
    }
    limits[client_class] = limit;
  }
  c.client_output_buffer_limit = limits;
  return true;
}

std::string GetOutputBufferLimits(const Config& c) {
  static constexpr const char* kClassNames[] = {"normal", "slave", "pubsub"};
  std::string out;
  for (size_t i = 0; i < c.client_output_buffer_limit.size(); ++i) {
    const OutputBufferLimit& limit = c.client_output_buffer_limit[i];
    if (!out.empty()) out += ' ';
    out += std::string(kClassNames[i]) + " " + std::to_string(limit.hard_bytes) + " " +
           std::to_string(limit.soft_bytes) + " " + std::to_string(limit.soft_seconds);
  }
  return out;
}

std::vector<Directive> BuildDirectives() {
  std::vector<Directive> d;
  // Network.
  d.push_back(Directive{"bind", kImmutable | kMultiArg, RewriteStyle::kPlain,
                        [](Config& c, Values v, bool, std::string* error) {
                          if (v.empty()) {
                            *error = "wrong number of arguments";
                            return false;
                          }
                          if (v.size() > 16) {
                            *error = "Too many bind addresses specified.";
                            return false;
                          }
                          c.bind.assign(v.begin(), v.end());
                          return true;
                        },
                        [](const Config& c) {
                          std::string out;
                          for (const std::string& address : c.bind) {
                            if (!out.empty()) out += ' ';
                            out += address;
                          }
                          return out;
                        }});
  d.push_back(Integer("port", &Config::port, 0, 65535, kImmutable));
  d.push_back(String("unixsocket", &Config::unixsocket, kImmutable));
  d.push_back(Directive{"unixsocketperm", kImmutable, RewriteStyle::kPlain,
                        [](Config& c, Values v, bool, std::string* error) {
                          if (!OneValue(v, error)) return false;
                          std::string word(v[0]);
                          char* end = nullptr;
                          long value = std::strtol(word.c_str(), &end, 8);
                          if (word.empty() || *end != '\0') {
                            *error = "argument couldn't be parsed into an integer";
                            return false;
                          }
                          if (value < 0 || value > 0777) {
                            *error = RangeError(0, 0777);
                            return false;
                          }
                          c.unixsocketperm = static_cast<int>(value);
                          return true;
                        },
                        [](const Config& c) {
                          char buf[16];
                          std::snprintf(buf, sizeof(buf), "%o", c.unixsocketperm);
                          return std::string(buf);
                        }});
  d.push_back(Integer("tcp-backlog", &Config::tcp_backlog, 0, INT_MAX, kImmutable));
  d.push_back(Integer("timeout", &Config::timeout, 0, INT_MAX));
  d.push_back(Integer("tcp-keepalive", &Config::tcp_keepalive, 0, INT_MAX));
  d.push_back(YesNo("protected-mode", &Config::protected_mode));
  d.push_back(Integer("maxclients", &Config::maxclients, 1, UINT_MAX));
  // Security.
  d.push_back(String("requirepass", &Config::requirepass));
  // Keyspace.
  d.push_back(Integer("databases", &Config::databases, 1, INT_MAX, kImmutable));
  d.push_back(Directive{"hz", 0, RewriteStyle::kPlain,
                        [](Config& c, Values v, bool, std::string* error) {
                          int64_t value = 0;
                          if (!OneValue(v, error) ||
                              !ParseIntInRange(v[0], 0, INT_MAX, &value, error)) {
                            return false;
                          }
                          // Redis keeps the cron between 1 and 500 runs a second.
                          c.hz = static_cast<int>(std::clamp<int64_t>(value, 1, 500));
                          return true;
                        },
                        [](const Config& c) { return std::to_string(c.hz); }});
  d.push_back(Directive{"maxmemory", 0, RewriteStyle::kMemory,
                        [](Config& c, Values v, bool, std::string* error) {
                          return OneValue(v, error) && ParseMemory(v[0], &c.maxmemory, error);
                        },
                        [](const Config& c) { return std::to_string(c.maxmemory); }});
  d.push_back(Enum("maxmemory-policy", &Config::maxmemory_policy,
                   {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"}));
  d.push_back(Integer("maxmemory-samples", &Config::maxmemory_samples, 1, INT_MAX));
  // Compact encodings of the collection types.
  d.push_back(
      Integer("hash-max-listpack-entries", &Config::hash_max_listpack_entries, 0, INT64_MAX));
  d.push_back(Integer("hash-max-listpack-value", &Config::hash_max_listpack_value, 0, INT64_MAX));
  d.push_back(Integer("set-max-intset-entries", &Config::set_max_intset_entries, 0, INT64_MAX));
  d.push_back(
      Integer("zset-max-listpack-entries", &Config::zset_max_listpack_entries, 0, INT64_MAX));
  d.push_back(Integer("zset-max-listpack-value", &Config::zset_max_listpack_value, 0, INT64_MAX));
  d.push_back(Integer("list-max-listpack-size", &Config::list_max_listpack_size, INT_MIN, INT_MAX));
  d.push_back(Integer("list-compress-depth", &Config::list_compress_depth, 0, INT_MAX));
  // Protocol limits.
  d.push_back(
      SignedMemory("proto-max-bulk-len", &Config::proto_max_bulk_len, 1024 * 1024, INT64_MAX));
  d.push_back(SignedMemory("client-query-buffer-limit", &Config::client_query_buffer_limit,
                           1024 * 1024, INT64_MAX));
  d.push_back(SignedMemory("client-output-soft-limit", &Config::client_output_soft_limit, 16 * 1024,
                           INT64_MAX));
  d.push_back(Directive{"client-output-buffer-limit", kMultiArg, RewriteStyle::kPlain,
                        SetOutputBufferLimits, GetOutputBufferLimits});
  // Process.
  d.push_back(Enum("loglevel", &Config::loglevel, {"debug", "verbose", "notice", "warning"}));
  d.push_back(String("logfile", &Config::logfile, kImmutable));
  d.push_back(Enum("log-format", &Config::log_format, {"human", "json"}));
  d.push_back(Integer("shutdown-timeout", &Config::shutdown_timeout, 0, INT_MAX));
  d.push_back(Directive{"dir", kProtected, RewriteStyle::kQuoted,
                        [](Config& c, Values v, bool, std::string* error) {
                          if (!OneValue(v, error)) return false;
                          std::string path(v[0]);
                          // As redis-server: the process works in `dir`, so
                          // relative paths that follow are taken from there.
                          if (::chdir(path.c_str()) != 0) {
                            *error = std::strerror(errno);
                            return false;
                          }
                          c.dir = path;
                          return true;
                        },
                        [](const Config& c) {
                          char cwd[PATH_MAX];
                          return ::getcwd(cwd, sizeof(cwd)) ? std::string(cwd) : c.dir;
                        }});
  d.push_back(String("pidfile", &Config::pidfile, kImmutable));
  d.push_back(YesNo("daemonize", &Config::daemonize, kImmutable));
  d.push_back(
      Enum("supervised", &Config::supervised, {"upstart", "systemd", "auto", "no"}, kImmutable));
  // Accepted for redis.conf compatibility.
  d.push_back(Directive{"save", kMultiArg, RewriteStyle::kPlain, SetSave,
                        [](const Config& c) { return c.save; }});
  d.push_back(FixedYesNo("appendonly", &Config::appendonly, false,
                         "understudy does not write an append-only file", 0));
  d.push_back(Enum("appendfsync", &Config::appendfsync, {"everysec", "always", "no"}));
  // The outage journal.
  d.push_back(
      Enum("journal-fsync", &Config::journal_fsync, {"everysec", "always", "no"}, kImmutable));
  d.push_back(Directive{"journal-max-bytes", kImmutable, RewriteStyle::kMemory,
                        [](Config& c, Values v, bool, std::string* error) {
                          return OneValue(v, error) &&
                                 ParseMemory(v[0], &c.journal_max_bytes, error);
                        },
                        [](const Config& c) { return std::to_string(c.journal_max_bytes); }});
  d.push_back(String("journal-id", &Config::journal_id, kImmutable));
  d.push_back(Directive{"dbfilename", kProtected, RewriteStyle::kQuoted,
                        [](Config& c, Values v, bool, std::string* error) {
                          if (!OneValue(v, error)) return false;
                          if (v[0].find('/') != std::string_view::npos) {
                            *error = "dbfilename can't be a path, just a filename";
                            return false;
                          }
                          c.dbfilename = std::string(v[0]);
                          return true;
                        },
                        [](const Config& c) { return c.dbfilename; }});
  d.push_back(
      Directive{"notify-keyspace-events", 0, RewriteStyle::kQuoted,
                [](Config& c, Values v, bool, std::string* error) {
                  if (!OneValue(v, error)) return false;
                  if (!ParseKeyspaceEvents(v[0], &c.notify_keyspace_events)) {
                    *error = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
                    return false;
                  }
                  return true;
                },
                [](const Config& c) { return FormatKeyspaceEvents(c.notify_keyspace_events); }});
  d.push_back(Integer("slowlog-log-slower-than", &Config::slowlog_log_slower_than, -1, INT64_MAX));
  d.push_back(Integer("slowlog-max-len", &Config::slowlog_max_len, 0, INT64_MAX));
  d.push_back(
      Integer("latency-monitor-threshold", &Config::latency_monitor_threshold, 0, INT64_MAX));
  // Scripting; lua-time-limit is Redis's older name for the same setting.
  d.push_back(Integer("busy-reply-threshold", &Config::busy_reply_threshold, 0, INT64_MAX));
  d.push_back(Integer("lua-time-limit", &Config::busy_reply_threshold, 0, INT64_MAX));
  d.push_back(YesNo("activerehashing", &Config::activerehashing));
  d.push_back(YesNo("lazyfree-lazy-eviction", &Config::lazyfree_lazy_eviction));
  d.push_back(YesNo("lazyfree-lazy-expire", &Config::lazyfree_lazy_expire));
  d.push_back(YesNo("lazyfree-lazy-server-del", &Config::lazyfree_lazy_server_del));
  d.push_back(YesNo("lazyfree-lazy-user-del", &Config::lazyfree_lazy_user_del));
  d.push_back(YesNo("lazyfree-lazy-user-flush", &Config::lazyfree_lazy_user_flush));
  d.push_back(Integer("io-threads", &Config::io_threads, 1, 128, kImmutable));
  d.push_back(FixedYesNo("cluster-enabled", &Config::cluster_enabled, false,
                         "understudy has no cluster mode", kImmutable));
  AddPrimaryLinkDirectives(&d);
  // The admin HTTP port (/metrics, /health, /ready; docs/operations.md).
  d.push_back(Integer("admin-port", &Config::admin_port, 0, 65535, kImmutable));
  d.push_back(String("admin-bind", &Config::admin_bind, kImmutable));
  return d;
}

}  // namespace

const std::vector<Directive>& Directives() {
  static const std::vector<Directive> kDirectives = BuildDirectives();
  return kDirectives;
}

const Directive* FindDirective(std::string_view name) {
  std::string lower = Lower(name);
  for (const Directive& d : Directives()) {
    if (lower == d.name) return &d;
  }
  return nullptr;
}

std::string QuoteForConfigFile(std::string_view text) { return QuoteConfigString(text); }

}  // namespace config_internal

}  // namespace understudy::server
