#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace understudy::server {

struct CommandContext;
using CommandHandler = void (*)(CommandContext& ctx);

// Command flags, as in Redis's command table. They drive dispatch (auth,
// MULTI queueing), COMMAND's reply and, later, outage routing.
enum CommandFlag : uint32_t {
  kCmdWrite = 1u << 0,       // may modify the keyspace
  kCmdReadOnly = 1u << 1,    // reads the keyspace only
  kCmdAdmin = 1u << 2,       // server administration
  kCmdPubSub = 1u << 3,      // publish/subscribe
  kCmdNoScript = 1u << 4,    // not allowed from scripts
  kCmdBlocking = 1u << 5,    // may block the client
  kCmdFast = 1u << 6,        // O(1) or O(log n)
  kCmdNoAuth = 1u << 7,      // allowed before authentication
  kCmdDenyOom = 1u << 8,     // may grow memory use
  kCmdLoading = 1u << 9,     // allowed while loading
  kCmdStale = 1u << 10,      // allowed on a stale replica
  kCmdNoMulti = 1u << 11,    // not allowed inside MULTI
  kCmdSkipQueue = 1u << 12,  // runs at once even inside MULTI (EXEC, DISCARD...)
  kCmdMayReplicate = 1u << 13,
  kCmdSentinel = 1u << 14,
  kCmdAllowBusy = 1u << 15,
  kCmdSkipSlowlog = 1u << 16,      // EXEC: its queued commands are logged instead
  kCmdNoAsyncLoading = 1u << 17,   // refused while loading a snapshot in the background
  kCmdNoMandatoryKeys = 1u << 18,  // may have no keys (EVAL 0): GETKEYS replies []
  kCmdSkipMonitor = 1u << 19,      // not shown by MONITOR (EVAL: its commands are)
};

// How a command uses one key, as Redis 7.0's key spec flags (COMMAND INFO,
// COMMAND GETKEYSANDFLAGS). Routing reads them too: RO keys are only read.
enum KeyFlag : uint32_t {
  kKeyRO = 1u << 0,              // reads the value
  kKeyRW = 1u << 1,              // reads and modifies the value
  kKeyOW = 1u << 2,              // overwrites the value without reading it
  kKeyRM = 1u << 3,              // deletes the key without reading it
  kKeyAccess = 1u << 4,          // returns (some of) the value to the client
  kKeyUpdate = 1u << 5,          // updates the value in place
  kKeyInsert = 1u << 6,          // adds data, never changes or removes any
  kKeyDelete = 1u << 7,          // removes data
  kKeyNotKey = 1u << 8,          // a shard channel, not a key (SPUBLISH...)
  kKeyIncomplete = 1u << 9,      // the spec may miss keys (rejected: needs a key finder)
  kKeyVariableFlags = 1u << 10,  // the flags depend on the arguments (SET ... GET)
};

// Where one group of a command's keys is, as a Redis 7.0 key spec: a way to
// find the first key (an argument index, or the argument after a keyword),
// then a way to find the rest (a range, or a count given in the request).
// Rows normally use the helpers below rather than spelling all fields out.
struct KeySpec {
  enum class Begin : uint8_t { kIndex, kKeyword };
  enum class Find : uint8_t { kRange, kKeyNum };

  uint32_t flags = 0;  // KeyFlag bits
  Begin begin = Begin::kIndex;
  // kIndex: argument index of the first key (>= 1).
  int index = 0;
  // kKeyword: the keys follow this argument, searched from start_from on
  // (negative: backwards from the end).
  std::string_view keyword;
  int start_from = 1;
  Find find = Find::kRange;
  // kRange: the last key relative to the first when >= 0; -1 is the last
  // argument, -2 the one before... With limit N (and last_key -1) only the
  // first 1/N of the remaining arguments are keys (XREAD's STREAMS).
  int last_key = 0;
  int limit = 0;
  // kKeyNum: where the key count is and where the keys start, both
  // relative to the first index.
  int keynum_index = 0;
  int first_key = 1;
  // Both: distance between keys (2 for MSET's key value pairs).
  int key_step = 1;
  std::string_view notes;  // optional explanation COMMAND INFO shows
};

// One key at argument `index` (GET key, LMOVE's source and destination...).
constexpr KeySpec KeyAt(int index, uint32_t flags, std::string_view notes = {}) {
  return KeySpec{.flags = flags, .index = index, .notes = notes};
}
// Keys from argument `index` to `last` (relative to `index` when >= 0; -1 is
// the last argument, -2 the one before), every `step` arguments.
constexpr KeySpec KeyRange(int index, int last, int step, uint32_t flags) {
  return KeySpec{.flags = flags, .index = index, .last_key = last, .key_step = step};
}
// A key count at argument `index`, the keys right after it
// (ZUNIONSTORE dest numkeys key..., LMPOP numkeys key..., EVAL script numkeys key...).
constexpr KeySpec KeysCounted(int index, uint32_t flags) {
  return KeySpec{.flags = flags, .index = index, .find = KeySpec::Find::kKeyNum};
}

// The flags of a kKeyVariableFlags key in one request (args[0] = command name).
using KeyFlagsResolver = uint32_t (*)(std::span<const std::string_view> args);

// One key found in a request: its argument index and how it is used.
struct KeyRef {
  int index = 0;
  uint32_t flags = 0;  // KeyFlag bits
};

// One row of the command table: everything the server needs to know about a
// command besides its handler's code.
struct CommandSpec {
  std::string name;    // lower case; "get", or "setname" for CLIENT SETNAME
  int arity = 0;       // >0: exact argc; <0: at least -arity
  uint32_t flags = 0;  // CommandFlag bits
  // Every group of keys, in argument order (Redis 7.0's key specs). Empty
  // for commands without keys.
  std::vector<KeySpec> key_specs;
  // Required when a key spec has kKeyVariableFlags.
  KeyFlagsResolver variable_key_flags = nullptr;
  CommandHandler handler = nullptr;
  std::string group;    // "string", "generic", "connection", "server", "transactions"...
  std::string summary;  // one line for COMMAND DOCS
  std::string since;    // Redis version that introduced it
  // Optional introspection details for COMMAND INFO / COMMAND DOCS. When
  // empty, COMMAND derives the ACL categories from flags and group.
  std::string complexity;      // "O(1)"
  std::string acl_categories;  // replaces the group's category: "keyspace dangerous"
  std::string tips;            // "nondeterministic_output request_policy:all_shards"
  std::vector<std::unique_ptr<CommandSpec>> subcommands;
  CommandSpec* parent = nullptr;

  // Derived from key_specs by CommandTable (rows leave them alone): the
  // legacy (first, last, step) key range COMMAND INFO shows, computed as
  // Redis 7.0 does (0 0 0 when no plain range describes the keys), and the
  // "movablekeys" flag (some keys are not at fixed positions).
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  bool movable_keys = false;

  bool has(CommandFlag flag) const { return (flags & flag) != 0; }
  // "get", or "client|setname" for a subcommand.
  std::string FullName() const { return parent ? parent->name + "|" + name : name; }
  // True when `argc` satisfies the arity.
  bool ArityOk(size_t argc) const {
    return arity > 0 ? static_cast<int>(argc) == arity : static_cast<int>(argc) >= -arity;
  }
  // True when some key spec names real keys (not only shard channels).
  bool HasKeys() const;

  // Sets *out to the argument indexes of every key in the request `args`
  // (args[0] is the command name, args[1] the subcommand for a subcommand's
  // spec), in key-spec order, which for every command in the table is
  // argument order. A key count (numkeys) that is not an integer, negative,
  // zero or larger than the arguments yields no keys at all: the command
  // itself rejects such a request. Never reads past `args`.
  void KeyIndexes(std::span<const std::string_view> args, std::vector<int>* out) const;
  // KeyIndexes with each key's flags (variable flags resolved for this
  // request). Returns false, with *out empty, when a key spec cannot be
  // applied to the request (the numkeys cases above).
  bool FindKeys(std::span<const std::string_view> args, std::vector<KeyRef>* out) const;
};

// Result of looking a request up in the table.
struct CommandLookup {
  const CommandSpec* spec = nullptr;       // found command or subcommand
  const CommandSpec* container = nullptr;  // set when the subcommand was unknown
};

// The table of all commands, the single source for dispatch, COMMAND, arity
// errors and key extraction.
class CommandTable {
 public:
  // Adds a command; returns it so subcommands can be attached.
  CommandSpec& Add(CommandSpec spec);
  // Adds a subcommand to a container command added earlier.
  CommandSpec& AddSubcommand(std::string_view container, CommandSpec spec);

  // Finds the command for a request (case-insensitive), descending into
  // subcommands when the command has them and argc >= 2.
  CommandLookup Lookup(std::span<const std::string_view> args) const;
  const CommandSpec* Find(std::string_view name) const;

  const std::vector<const CommandSpec*>& all() const { return ordered_; }
  size_t size() const { return ordered_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // A command name reduced to two lower-cased words and its length: for
  // names up to 16 bytes the words hold every byte, so comparing keys
  // compares names; longer names also compare their remaining bytes.
  struct NameKey {
    uint64_t words[2];
    uint64_t size;
    bool operator==(const NameKey&) const = default;
  };
  // One slot of index_; spec == nullptr marks a free slot.
  struct IndexSlot {
    NameKey key{};
    const CommandSpec* spec = nullptr;
  };
  static NameKey KeyOf(std::string_view name);
  // Adds `spec` to index_, doubling it first when it is half full.
  void IndexCommand(const CommandSpec* spec);

  std::unordered_map<std::string, std::unique_ptr<CommandSpec>, Hash, std::equal_to<>> commands_;
  std::vector<const CommandSpec*> ordered_;
  // An open-addressing copy of commands_ for Find, which runs for every
  // request: a key built from two word loads, one multiply-hash and one
  // probe of a flat array cost about a third of lower-casing the name,
  // std::hash and an unordered_map probe.
  std::vector<IndexSlot> index_;
};

// Lower-cases `name` into `buffer` (of `capacity` bytes); returns the view,
// or an empty view when the name does not fit (no command is that long).
std::string_view LowerCaseName(std::string_view name, char* buffer, size_t capacity);

}  // namespace understudy::server
