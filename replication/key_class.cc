// Key class parsing, canonical formatting and the key -> class lookup that
// runs on every proxied command.
#include "replication/key_class.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <utility>

#include "common/ascii.h"
#include "common/config_text.h"
#include "common/glob.h"
#include "common/numbers.h"

namespace understudy::replication {
namespace {

bool IsValidClassName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// A word as the config-file splitter reads it back: bare when it can be,
// else double-quoted with escapes.
std::string ConfigWord(std::string_view word) {
  bool bare = !word.empty();
  for (char c : word) {
    if (!std::isgraph(static_cast<unsigned char>(c)) || c == '"' || c == '\'') bare = false;
  }
  if (bare) return std::string(word);
  return QuoteConfigString(word);
}

// One attribute's accepted spellings and the value each stands for.
template <typename T>
struct Choice {
  std::string_view word;
  T value;
};

template <typename T, size_t N>
bool ParseChoice(std::string_view text, const std::array<Choice<T>, N>& choices, T* out) {
  for (const Choice<T>& choice : choices) {
    if (EqualsIgnoreCase(text, choice.word)) {
      *out = choice.value;
      return true;
    }
  }
  return false;
}

constexpr std::array<Choice<bool>, 2> kYesNo = {{{"yes", true}, {"no", false}}};
constexpr std::array<Choice<MergeRule>, 3> kMergeRules = {
    {{"union", MergeRule::kUnion}, {"lww", MergeRule::kLww}, {"counter", MergeRule::kCounter}}};
constexpr std::array<Choice<OutagePolicy>, 2> kOutagePolicies = {
    {{"serve", OutagePolicy::kServe}, {"reject", OutagePolicy::kReject}}};
constexpr std::array<Choice<ConflictPolicy>, 2> kConflictPolicies = {
    {{"local", ConflictPolicy::kLocal}, {"primary", ConflictPolicy::kPrimary}}};

enum Attribute : size_t {
  kMirror,
  kMerge,
  kOutage,
  kMaxStaleness,
  kConflict,
  kNearCache,
  kEvict,
  kAttributeCount,
};

constexpr std::array<std::string_view, kAttributeCount> kAttributeNames = {
    "mirror", "merge", "outage", "max-staleness", "conflict", "near-cache", "evict"};

// Parses `value` into attribute `attribute` of *c; on failure returns the
// accepted values for the error message.
bool ParseAttribute(Attribute attribute, std::string_view value, KeyClass* c,
                    std::string_view* expected) {
  switch (attribute) {
    case kMirror:
      *expected = "yes or no";
      return ParseChoice(value, kYesNo, &c->mirror);
    case kMerge:
      *expected = "union, lww or counter";
      return ParseChoice(value, kMergeRules, &c->merge);
    case kOutage:
      *expected = "serve or reject";
      return ParseChoice(value, kOutagePolicies, &c->outage);
    case kMaxStaleness: {
      *expected = "a non-negative integer of milliseconds";
      int64_t ms = 0;
      if (!ParseInt64(value, &ms) || ms < 0) return false;
      c->max_staleness_ms = ms;
      return true;
    }
    case kConflict:
      *expected = "local or primary";
      return ParseChoice(value, kConflictPolicies, &c->conflict);
    case kNearCache:
      *expected = "yes or no";
      return ParseChoice(value, kYesNo, &c->near_cache);
    case kEvict:
      *expected = "yes or no";
      return ParseChoice(value, kYesNo, &c->evict);
    case kAttributeCount:
      break;
  }
  return false;
}

}  // namespace

KeyClass DefaultKeyClass() {
  KeyClass c;
  c.name = std::string(kDefaultClassName);
  c.pattern = "*";
  return c;
}

bool IsCatchAllPattern(std::string_view pattern) {
  return !pattern.empty() && pattern.find_first_not_of('*') == std::string_view::npos;
}

std::string_view MergeRuleName(MergeRule rule) {
  for (const auto& choice : kMergeRules) {
    if (choice.value == rule) return choice.word;
  }
  return "?";
}

std::string_view OutagePolicyName(OutagePolicy policy) {
  for (const auto& choice : kOutagePolicies) {
    if (choice.value == policy) return choice.word;
  }
  return "?";
}

std::string_view ConflictPolicyName(ConflictPolicy policy) {
  for (const auto& choice : kConflictPolicies) {
    if (choice.value == policy) return choice.word;
  }
  return "?";
}

bool ParseKeyClass(std::span<const std::string_view> words, KeyClass* out, std::string* error) {
  if (words.size() < 2) {
    *error = "a class needs a name and a pattern: class NAME PATTERN [attribute value]...";
    return false;
  }
  KeyClass c;
  c.name = std::string(words[0]);
  c.pattern = std::string(words[1]);
  if (!IsValidClassName(c.name)) {
    *error = "bad class name '" + c.name +
             "': use letters, digits, '_', '-' and '.' only (the name shows up in INFO)";
    return false;
  }
  const std::string prefix = "class '" + c.name + "': ";
  if (c.pattern.empty()) {
    *error = prefix + "the pattern is empty";
    return false;
  }
  if (c.name == kDefaultClassName && !IsCatchAllPattern(c.pattern)) {
    *error = prefix + "the name 'default' is reserved for the class of pattern '*'";
    return false;
  }
  std::array<bool, kAttributeCount> seen{};
  for (size_t i = 2; i < words.size(); i += 2) {
    std::string_view name = words[i];
    size_t attribute = 0;
    while (attribute < kAttributeCount && !EqualsIgnoreCase(name, kAttributeNames[attribute])) {
      ++attribute;
    }
    if (attribute == kAttributeCount) {
      *error = prefix + "unknown attribute '" + std::string(name) +
               "' (known: mirror, merge, outage, max-staleness, conflict, near-cache, evict)";
      return false;
    }
    const std::string canonical(kAttributeNames[attribute]);
    if (seen[attribute]) {
      *error = prefix + "attribute '" + canonical + "' is given more than once";
      return false;
    }
    seen[attribute] = true;
    if (i + 1 >= words.size()) {
      *error = prefix + "attribute '" + canonical + "' needs a value";
      return false;
    }
    std::string_view expected;
    if (!ParseAttribute(static_cast<Attribute>(attribute), words[i + 1], &c, &expected)) {
      *error = prefix + "bad value '" + std::string(words[i + 1]) + "' for " + canonical +
               " (expected " + std::string(expected) + ")";
      return false;
    }
  }
  if (c.near_cache && !c.mirror) {
    *error = prefix + "near-cache yes needs mirror yes (reads can only be served from a mirror)";
    return false;
  }
  // conflict local is the default and the canonical text always spells it
  // out, so only "primary" is refused where it could never take effect.
  if (c.conflict == ConflictPolicy::kPrimary && c.merge != MergeRule::kLww) {
    *error = prefix + "conflict primary applies only to merge lww, not to merge " +
             std::string(MergeRuleName(c.merge));
    return false;
  }
  *out = std::move(c);
  return true;
}

std::string FormatKeyClass(const KeyClass& c) {
  std::string out = ConfigWord(c.name);
  out += ' ';
  out += ConfigWord(c.pattern);
  out += c.mirror ? " mirror yes" : " mirror no";
  out += " merge ";
  out += MergeRuleName(c.merge);
  out += " outage ";
  out += OutagePolicyName(c.outage);
  out += " max-staleness ";
  out += std::to_string(c.max_staleness_ms);
  out += " conflict ";
  out += ConflictPolicyName(c.conflict);
  out += c.near_cache ? " near-cache yes" : " near-cache no";
  out += c.evict ? " evict yes" : " evict no";
  return out;
}

bool CheckClassFollows(std::span<const KeyClass> existing, const KeyClass& next,
                       std::string* error) {
  for (const KeyClass& earlier : existing) {
    if (earlier.name == next.name) {
      *error = "class '" + next.name + "' is defined twice";
      return false;
    }
  }
  for (const KeyClass& earlier : existing) {
    if (IsCatchAllPattern(earlier.pattern)) {
      *error = "class '" + next.name + "' can never match: class '" + earlier.name +
               "' before it has pattern '" + earlier.pattern +
               "', which matches every key (first match wins; put it last)";
      return false;
    }
  }
  return true;
}

bool ValidateKeyClasses(std::span<const KeyClass> classes, std::string* error) {
  for (size_t i = 0; i < classes.size(); ++i) {
    if (!CheckClassFollows(classes.first(i), classes[i], error)) return false;
  }
  return true;
}

CompiledPattern::CompiledPattern(std::string pattern) : pattern_(std::move(pattern)) {
  const std::string_view prefix = GlobLiteralPrefix(pattern_);
  prefix_length_ = prefix.size();
  if (prefix_length_ == pattern_.size()) {
    kind_ = Kind::kExact;
  } else if (pattern_.find_first_not_of('*', prefix_length_) == std::string::npos) {
    // Consecutive stars act as one, so "user:**" is "user:*".
    kind_ = Kind::kPrefix;
  } else {
    kind_ = Kind::kGlob;
  }
}

bool CompiledPattern::Matches(std::string_view key) const {
  switch (kind_) {
    case Kind::kExact:
      return key == pattern_;
    case Kind::kPrefix:
      return key.size() >= prefix_length_ &&
             std::memcmp(key.data(), pattern_.data(), prefix_length_) == 0;
    case Kind::kGlob:
      if (key.size() < prefix_length_ ||
          std::memcmp(key.data(), pattern_.data(), prefix_length_) != 0) {
        return false;
      }
      return GlobMatch(pattern_, key);
  }
  return false;
}

KeyClassifier::KeyClassifier() : KeyClassifier(std::vector<KeyClass>{}) {}

KeyClassifier::KeyClassifier(std::vector<KeyClass> classes) : classes_(std::move(classes)) {
  bool has_catch_all = false;
  for (const KeyClass& c : classes_) has_catch_all = has_catch_all || IsCatchAllPattern(c.pattern);
  if (!has_catch_all) classes_.push_back(DefaultKeyClass());
  patterns_.reserve(classes_.size());
  for (const KeyClass& c : classes_) patterns_.emplace_back(c.pattern);
}

size_t KeyClassifier::Classify(std::string_view key) const {
  // The list holds a catch-all class, so the loop always returns; the last
  // index is only a fallback for a list built without one.
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (patterns_[i].Matches(key)) return i;
  }
  return classes_.size() - 1;
}

}  // namespace understudy::replication
