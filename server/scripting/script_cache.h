#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace understudy::server {

// The bodies of the scripts this process has seen, by SHA1, as Redis's
// script cache: EVAL and SCRIPT LOAD add to it, SCRIPT FLUSH empties it,
// EVALSHA and SCRIPT EXISTS look in it. In proxy mode the cache also
// remembers what clients sent to the primary, so that EVALSHA keeps working
// locally when an outage begins and a script the primary lost (-NOSCRIPT
// after its restart) can be sent again. It holds text only; the Lua engine
// keeps its own compiled functions and drops them on Flush().
class ScriptCache {
 public:
  // Lower-case hex SHA1 of `body` (40 characters), as redis.sha1hex.
  static std::string Sha1Hex(std::string_view body);

  // Adds `body` (a no-op when present); returns its SHA1.
  std::string Remember(std::string_view body);
  // The body whose SHA1 is `sha` (hex digits of either case), or nullptr.
  const std::string* BodyOf(std::string_view sha) const;
  bool Contains(std::string_view sha) const { return BodyOf(sha) != nullptr; }
  // Forgets every script (SCRIPT FLUSH); bumps generation().
  void Flush();

  size_t size() const { return bodies_.size(); }
  // Bytes held by the bodies (INFO memory's used_memory_scripts).
  size_t body_bytes() const { return body_bytes_; }
  // Changes on every Flush(): the engine compares it with the generation
  // its compiled functions belong to.
  uint64_t generation() const { return generation_; }

 private:
  std::unordered_map<std::string, std::string> bodies_;  // sha (lower case) -> body
  size_t body_bytes_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace understudy::server
