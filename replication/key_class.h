#pragma once

// Key classes: the operator's declaration, by key pattern, of how each group
// of keys is mirrored, reconciled and served during an outage of the primary
// (../shared/DESIGN.md, "Key classes"). A key belongs to the first class
// whose pattern matches it; a default class catches everything else.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace understudy::replication {

// How journaled writes of a class are reconciled with the primary.
enum class MergeRule { kUnion, kLww, kCounter };
// What a command on a key of the class gets while the primary is down.
enum class OutagePolicy { kServe, kReject };
// lww only: who wins when the primary changed a key during the outage.
enum class ConflictPolicy { kLocal, kPrimary };

struct KeyClass {
  std::string name;
  std::string pattern;  // glob, as KEYS takes it
  bool mirror = false;
  MergeRule merge = MergeRule::kLww;
  OutagePolicy outage = OutagePolicy::kServe;
  int64_t max_staleness_ms = 0;  // 0 = no limit
  ConflictPolicy conflict = ConflictPolicy::kLocal;
  bool near_cache = false;
  bool evict = true;

  bool operator==(const KeyClass&) const = default;
};

// The name of the class that catches the keys no configured class matches.
inline constexpr std::string_view kDefaultClassName = "default";

// "default *" with every attribute at its default value.
KeyClass DefaultKeyClass();

// True when `pattern` matches every key, the empty key included: one or more
// '*' and nothing else.
bool IsCatchAllPattern(std::string_view pattern);

// Canonical attribute values, as FormatKeyClass writes them.
std::string_view MergeRuleName(MergeRule rule);
std::string_view OutagePolicyName(OutagePolicy policy);
std::string_view ConflictPolicyName(ConflictPolicy policy);

// Parses the words after "class" on a config line:
//   NAME PATTERN [attribute value]...
// Attributes come in any order, each at most once; attribute names and their
// values are case-insensitive:
//   mirror yes|no, merge union|lww|counter, outage serve|reject,
//   max-staleness MS (a non-negative integer), conflict local|primary,
//   near-cache yes|no, evict yes|no.
// A NAME is letters, digits, '_', '-' and '.' (it shows up in INFO and
// metrics); "default" is reserved for a catch-all pattern. A PATTERN is a
// non-empty glob. Rejected as well: near-cache yes without mirror yes, and
// conflict primary with a merge rule other than lww (it could never take
// effect, so it is a mistake; conflict local is the default and accepted with
// any rule). On failure returns false, leaves *out unchanged and sets *error
// to one sentence naming the problem.
bool ParseKeyClass(std::span<const std::string_view> words, KeyClass* out, std::string* error);

// The canonical text of a class, every attribute spelled out, readable back
// by ParseKeyClass after splitting with protocol::SplitInlineArgs:
//   NAME PATTERN mirror no merge lww outage serve max-staleness 0
//   conflict local near-cache no evict yes
// The pattern is double-quoted (with \n, \xHH... escapes) when it contains
// whitespace, quotes or unprintable bytes, so the text never holds a raw
// newline.
std::string FormatKeyClass(const KeyClass& c);

// Checks that `next` may follow `existing` in a class list: its name is not
// taken, and no class before it matches every key (which would make `next`
// unreachable). On failure sets *error naming both classes.
bool CheckClassFollows(std::span<const KeyClass> existing, const KeyClass& next,
                       std::string* error);
// CheckClassFollows over a whole list, in order.
bool ValidateKeyClasses(std::span<const KeyClass> classes, std::string* error);

// One class pattern, prepared for matching many keys quickly. Matches
// exactly as GlobMatch(pattern, key), except that a pattern made only of
// stars also matches the empty key (GlobMatch reproduces Redis's KEYS quirk
// of never matching an empty text; a class "*" must catch every key).
class CompiledPattern {
 public:
  explicit CompiledPattern(std::string pattern);

  bool Matches(std::string_view key) const;
  const std::string& pattern() const { return pattern_; }
  bool catch_all() const { return kind_ == Kind::kPrefix && prefix_length_ == 0; }
  // True when a byte comparison decides without GlobMatch (tests use it).
  bool is_fast_path() const { return kind_ != Kind::kGlob; }

 private:
  enum class Kind {
    kExact,   // no glob bytes at all: key == pattern
    kPrefix,  // literal prefix then only stars ("user:*"): a prefix compare
    kGlob,    // anything else: prefix compare to reject early, then GlobMatch
  };

  std::string pattern_;
  Kind kind_;
  size_t prefix_length_;  // GlobLiteralPrefix(pattern_).size()
};

// Maps keys to classes: first match wins. Unless a class has a catch-all
// pattern, the default class (DefaultKeyClass()) is appended at the end, so
// every key has a class. The list is taken as given; validate it first with
// ValidateKeyClasses (the config loader does).
class KeyClassifier {
 public:
  KeyClassifier();  // just the default class
  explicit KeyClassifier(std::vector<KeyClass> classes);

  // Index into classes() of the class of `key`. Runs for every proxied
  // command: no allocation, and most patterns decide by a byte comparison.
  size_t Classify(std::string_view key) const;
  const KeyClass& ClassOf(std::string_view key) const { return classes_[Classify(key)]; }
  const std::vector<KeyClass>& classes() const { return classes_; }

 private:
  std::vector<KeyClass> classes_;
  std::vector<CompiledPattern> patterns_;  // patterns_[i] is classes_[i].pattern
};

}  // namespace understudy::replication
