#include "server/command_table.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common/numbers.h"

namespace understudy::server {

std::string_view LowerCaseName(std::string_view name, char* buffer, size_t capacity) {
  if (name.size() > capacity) return {};
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buffer[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return std::string_view(buffer, name.size());
}

namespace {

// strcasecmp(arg, keyword) == 0 as Redis compares keywords: the argument
// ends at its first NUL byte, ASCII letters match either case.
bool IsKeyword(std::string_view arg, std::string_view keyword) {
  arg = arg.substr(0, arg.find('\0'));
  if (arg.size() != keyword.size()) return false;
  for (size_t i = 0; i < arg.size(); ++i) {
    char a = arg[i] >= 'A' && arg[i] <= 'Z' ? static_cast<char>(arg[i] + 32) : arg[i];
    char b =
        keyword[i] >= 'A' && keyword[i] <= 'Z' ? static_cast<char>(keyword[i] + 32) : keyword[i];
    if (a != b) return false;
  }
  return true;
}

// Parses a key count the way Redis's key spec code does: a strict integer
// (ParseInt64, Redis's string2ll), then narrowed to int as Redis narrows
// it, so COMMAND GETKEYS agrees with Redis even for absurd counts.
bool ParseKeyCount(std::string_view text, int64_t* count) {
  int64_t parsed = 0;
  if (!ParseInt64(text, &parsed) || parsed < 0) return false;
  *count = static_cast<int32_t>(parsed);
  return true;
}

// Where the first key of `spec` is in `args`, or 0 when a keyword spec's
// keyword is absent (the spec then has no keys in this request). Follows
// Redis: the search starts at start_from and never examines the last
// argument going forward, nor args[0] going backward.
int BeginIndex(const KeySpec& spec, std::span<const std::string_view> args) {
  if (spec.begin == KeySpec::Begin::kIndex) return spec.index;
  const int argc = static_cast<int>(args.size());
  const bool forward = spec.start_from > 0;
  const int start = forward ? spec.start_from : argc + spec.start_from;
  const int end = forward ? argc - 1 : 1;
  for (int i = start; i != end; i += (start <= end ? 1 : -1)) {
    if (i >= argc || i < 1) break;
    if (IsKeyword(args[i], spec.keyword)) return i + 1;
  }
  return 0;
}

// Calls emit(index) for every key `spec` finds in `args`; returns false
// when the spec does not fit the request (Redis's "invalid spec").
template <typename Emit>
bool WalkSpec(const KeySpec& spec, std::span<const std::string_view> args, Emit&& emit) {
  const int64_t argc = static_cast<int64_t>(args.size());
  int64_t first = BeginIndex(spec, args);
  if (first == 0) return true;
  int64_t last = 0;
  if (spec.find == KeySpec::Find::kRange) {
    if (spec.last_key >= 0) {
      last = first + spec.last_key;
    } else if (spec.limit == 0) {
      last = argc + spec.last_key;
    } else {
      last = first + ((argc - first) / spec.limit + spec.last_key);
    }
  } else {
    const int64_t count_at = first + spec.keynum_index;
    if (count_at >= argc) return false;
    int64_t count = 0;
    if (!ParseKeyCount(args[count_at], &count)) return false;
    first += spec.first_key;
    last = first + count - 1;
  }
  if (last >= argc || last < first || first >= argc) return false;
  for (int64_t i = first; i <= last; i += spec.key_step) emit(static_cast<int>(i));
  return true;
}

// Runs WalkSpec over every real-key spec, calling emit(index, spec);
// false as soon as one spec does not fit.
template <typename Emit>
bool WalkKeys(const CommandSpec& command, std::span<const std::string_view> args, Emit&& emit) {
  for (const KeySpec& spec : command.key_specs) {
    if ((spec.flags & kKeyNotKey) != 0) continue;
    if (!WalkSpec(spec, args, [&](int index) { emit(index, spec); })) return false;
  }
  return true;
}

// True for a key spec that is a plain range from a fixed index.
bool IsPlainRange(const KeySpec& spec) {
  return spec.begin == KeySpec::Begin::kIndex && spec.find == KeySpec::Find::kRange;
}

// Checks a row's key specs; throws std::logic_error naming the command.
void ValidateKeySpecs(const CommandSpec& spec) {
  auto fail = [&](const std::string& what) {
    throw std::logic_error("command " + spec.FullName() + ": " + what);
  };
  if (spec.first_key != 0 || spec.last_key != 0 || spec.key_step != 0 || spec.movable_keys)
    fail("first_key/last_key/key_step are derived from key_specs; do not set them");
  bool variable = false;
  for (const KeySpec& key : spec.key_specs) {
    if (key.begin == KeySpec::Begin::kIndex && key.index < 1) fail("key index below 1");
    if (key.begin == KeySpec::Begin::kKeyword && (key.keyword.empty() || key.start_from == 0))
      fail("keyword spec without keyword or start");
    if (key.key_step < 1) fail("key step below 1");
    if (key.find == KeySpec::Find::kRange &&
        (key.limit < 0 || (key.limit != 0 && key.last_key != -1)))
      fail("a range limit must be positive and needs last_key -1");
    if (key.find == KeySpec::Find::kKeyNum && (key.keynum_index < 0 || key.first_key < 1))
      fail("bad key count layout");
    if ((key.flags & kKeyIncomplete) != 0) fail("incomplete key specs need a key finder");
    variable = variable || (key.flags & kKeyVariableFlags) != 0;
  }
  if (variable != (spec.variable_key_flags != nullptr))
    fail("variable key flags and variable_key_flags go together");
}

// Fills the derived legacy key range and movable flag the way Redis 7.0
// does: a single plain range is used as it is; otherwise consecutive
// step-1 ranges are merged and anything else makes the keys movable.
void DeriveLegacyRange(CommandSpec& spec) {
  if (spec.key_specs.empty()) return;
  if (spec.key_specs.size() == 1 && IsPlainRange(spec.key_specs[0])) {
    const KeySpec& only = spec.key_specs[0];
    spec.first_key = only.index;
    spec.last_key = only.last_key >= 0 ? only.index + only.last_key : only.last_key;
    spec.key_step = only.key_step;
    return;
  }
  int first = std::numeric_limits<int>::max();
  int last = 0;
  int previous_last = 0;
  for (const KeySpec& key : spec.key_specs) {
    if (!IsPlainRange(key) || key.key_step != 1 ||
        (previous_last != 0 && previous_last != key.index - 1)) {
      spec.movable_keys = true;
      continue;
    }
    first = std::min(first, key.index);
    int absolute_last = key.last_key >= 0 ? key.last_key + key.index : key.last_key;
    // Unsigned, as in Redis: a negative (from the end) last key wins.
    last = static_cast<int>(
        std::max(static_cast<unsigned>(last), static_cast<unsigned>(absolute_last)));
    previous_last = last;
  }
  if (first == std::numeric_limits<int>::max()) {
    spec.movable_keys = true;
    return;
  }
  spec.first_key = first;
  spec.last_key = last;
  spec.key_step = 1;
}

// Validates a row and fills its derived fields.
void Finish(CommandSpec& spec) {
  ValidateKeySpecs(spec);
  DeriveLegacyRange(spec);
}

}  // namespace

bool CommandSpec::HasKeys() const {
  for (const KeySpec& spec : key_specs) {
    if ((spec.flags & kKeyNotKey) == 0) return true;
  }
  return false;
}

void CommandSpec::KeyIndexes(std::span<const std::string_view> args, std::vector<int>* out) const {
  out->clear();
  auto add = [out](int index, const KeySpec&) { out->push_back(index); };
  if (!WalkKeys(*this, args, add)) out->clear();
}

bool CommandSpec::FindKeys(std::span<const std::string_view> args, std::vector<KeyRef>* out) const {
  out->clear();
  bool fits = WalkKeys(*this, args, [&](int index, const KeySpec& spec) {
    const bool variable = (spec.flags & kKeyVariableFlags) != 0;
    out->push_back(KeyRef{index, variable ? variable_key_flags(args) : spec.flags});
  });
  if (!fits) out->clear();
  return fits;
}

CommandSpec& CommandTable::Add(CommandSpec spec) {
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  Finish(*owned);
  CommandSpec* raw = owned.get();
  auto [it, inserted] = commands_.emplace(raw->name, std::move(owned));
  if (!inserted) throw std::logic_error("duplicate command " + raw->name);
  IndexCommand(raw);
  ordered_.push_back(raw);
  return *raw;
}

CommandSpec& CommandTable::AddSubcommand(std::string_view container, CommandSpec spec) {
  auto it = commands_.find(container);
  if (it == commands_.end())
    throw std::logic_error("no container command " + std::string(container));
  auto owned = std::make_unique<CommandSpec>(std::move(spec));
  owned->parent = it->second.get();
  Finish(*owned);
  CommandSpec& ref = *owned;
  it->second->subcommands.push_back(std::move(owned));
  return ref;
}

namespace {

constexpr uint64_t kEveryByte = 0x0101010101010101ull;

// Lower-cases the ASCII letters among the eight bytes of `word` (bytes of
// 0x80 and above are left alone, as LowerCaseName does), without a branch.
inline uint64_t LowerAsciiWord(uint64_t word) {
  const uint64_t low7 = word & (0x7f * kEveryByte);
  const uint64_t at_least_a = low7 + (0x80 - 'A') * kEveryByte;   // top bit: byte >= 'A'
  const uint64_t above_z = low7 + (0x80 - 'Z' - 1) * kEveryByte;  // top bit: byte > 'Z'
  const uint64_t upper = at_least_a & ~above_z & ~word & (0x80 * kEveryByte);
  return word | (upper >> 2);  // 0x80 >> 2 == 0x20, the case bit
}

inline uint64_t Load64(const char* p) {
  uint64_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

inline uint64_t Load32(const char* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

// True when `name` equals the lower-case `lower_name` but for the case of
// ASCII letters. Compares in place: a lower-cased copy on the stack would
// make the per-request lookups pay for a stack-protector check.
bool MatchesLowerCase(std::string_view name, std::string_view lower_name) {
  if (name.size() != lower_name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower_name[i]) return false;
  }
  return true;
}

// Start of the probe sequence: a multiplicative hash of the key's words.
inline size_t IndexStart(const uint64_t words[2], uint64_t size, size_t mask) {
  uint64_t hash = (words[0] ^ size) * 0x9E3779B97F4A7C15ull;
  hash = (hash ^ (hash >> 29) ^ words[1]) * 0xBF58476D1CE4E5B9ull;
  return static_cast<size_t>(hash >> 32) & mask;
}

}  // namespace

inline CommandTable::NameKey CommandTable::KeyOf(std::string_view name) {
  // Loads that may overlap, chosen by length, so that no byte is missed
  // and nothing outside the name is read: for 1 to 16 bytes, the words and
  // the length determine the name.
  const char* p = name.data();
  const size_t n = name.size();
  NameKey key{{0, 0}, n};
  if (n >= 8) {
    key.words[0] = Load64(p);
    key.words[1] = n >= 16 ? Load64(p + 8) : Load64(p + n - 8);
  } else if (n >= 4) {
    key.words[0] = Load32(p) | (Load32(p + n - 4) << 32);
  } else if (n > 0) {
    key.words[0] = static_cast<unsigned char>(p[0]) |
                   (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
                   (static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
  }
  key.words[0] = LowerAsciiWord(key.words[0]);
  key.words[1] = LowerAsciiWord(key.words[1]);
  return key;
}

void CommandTable::IndexCommand(const CommandSpec* spec) {
  if (2 * (ordered_.size() + 1) > index_.size()) {
    std::vector<IndexSlot> old = std::move(index_);
    index_.assign(std::max<size_t>(64, 2 * old.size()), IndexSlot{});
    for (const IndexSlot& slot : old) {
      if (slot.spec != nullptr) IndexCommand(slot.spec);
    }
  }
  const NameKey key = KeyOf(spec->name);
  const size_t mask = index_.size() - 1;
  size_t i = IndexStart(key.words, key.size, mask);
  while (index_[i].spec != nullptr) i = (i + 1) & mask;
  index_[i] = IndexSlot{key, spec};
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  constexpr size_t kMaxNameLength = 64;  // as before: no command is longer
  if (name.empty() || name.size() > kMaxNameLength || index_.empty()) return nullptr;
  const NameKey key = KeyOf(name);
  const size_t mask = index_.size() - 1;
  for (size_t i = IndexStart(key.words, key.size, mask);; i = (i + 1) & mask) {
    const IndexSlot& slot = index_[i];
    if (slot.spec == nullptr) return nullptr;
    if (!(slot.key == key)) continue;
    // A long name: the key covered its first 16 bytes only.
    if (key.size <= 16 || MatchesLowerCase(name, slot.spec->name)) return slot.spec;
  }
}

CommandLookup CommandTable::Lookup(std::span<const std::string_view> args) const {
  CommandLookup result;
  const CommandSpec* base = Find(args[0]);
  if (base == nullptr || base->subcommands.empty() || args.size() < 2) {
    result.spec = base;
    return result;
  }
  for (const auto& candidate : base->subcommands) {
    if (MatchesLowerCase(args[1], candidate->name)) {
      result.spec = candidate.get();
      return result;
    }
  }
  result.container = base;
  return result;
}

}  // namespace understudy::server
