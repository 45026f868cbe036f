#pragma once

// Shared by the reconciliation tests: a key extractor for the commands they
// journal (the server's command table plays this part in the daemon), the
// classes they reconcile, and a short way to declare one.

#include <cctype>
#include <span>
#include <string>
#include <vector>

#include "replication/key_class.h"

namespace understudy::replication::reconcile_test {

// Keys as a command table would give them, for the commands used here.
inline void ExtractKeys(std::span<const std::string> argv, std::vector<size_t>* keys) {
  std::string name = argv[0];
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name == "MSET" || name == "MSETNX") {
    for (size_t i = 1; i < argv.size(); i += 2) keys->push_back(i);
  } else if (name == "DEL" || name == "UNLINK") {
    for (size_t i = 1; i < argv.size(); ++i) keys->push_back(i);
  } else if (name == "SMOVE" || name == "RENAME" || name == "LMOVE" || name == "RPOPLPUSH") {
    keys->push_back(1);
    keys->push_back(2);
  } else if (name != "FLUSHALL" && argv.size() > 1) {
    keys->push_back(1);
  }
}

inline KeyClass Class(std::string name, std::string pattern, MergeRule merge,
                      ConflictPolicy conflict = ConflictPolicy::kLocal) {
  KeyClass c;
  c.name = std::move(name);
  c.pattern = std::move(pattern);
  c.merge = merge;
  c.conflict = conflict;
  return c;
}

// The classes both tests use: a union, two lww (local and primary win on
// conflict) and a counter class.
inline std::vector<KeyClass> TestClasses() {
  return {Class("revoked", "bl:*", MergeRule::kUnion), Class("sessions", "sess:*", MergeRule::kLww),
          Class("strict", "psess:*", MergeRule::kLww, ConflictPolicy::kPrimary),
          Class("limits", "rl:*", MergeRule::kCounter)};
}

}  // namespace understudy::replication::reconcile_test
