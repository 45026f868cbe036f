#pragma once

#include <string_view>

#include "common/numbers.h"
#include "server/errors.h"
#include "server/server.h"

// Small argument and lookup helpers shared by command handlers. Each one that
// can fail writes the Redis error reply itself and returns false, so a
// handler reads: `if (!ParseIntegerArg(ctx, ctx.args[2], &n)) return;`.
namespace understudy::server {

// Parses a 64-bit integer argument ("ERR value is not an integer or out of range").
inline bool ParseIntegerArg(CommandContext& ctx, std::string_view arg, int64_t* out) {
  if (ParseInt64(arg, out)) return true;
  ctx.reply.Error(errors::kNotInteger);
  return false;
}

// True when `a` equals `b` ignoring ASCII case (option names).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Finds a live key for reading and checks that it holds `type`. Returns
// false after replying WRONGTYPE; otherwise *entry is the entry or nullptr.
inline bool LookupRead(CommandContext& ctx, std::string_view key, storage::ValueType type,
                       storage::Entry** entry) {
  storage::Entry* e = ctx.db.FindForRead(key, ctx.now_ms);
  if (e != nullptr && e->value().type() != type) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  *entry = e;
  return true;
}

// As LookupRead, for commands that will write (no hit/miss accounting).
inline bool LookupWrite(CommandContext& ctx, std::string_view key, storage::ValueType type,
                        storage::Entry** entry) {
  storage::Entry* e = ctx.db.Find(key, ctx.now_ms);
  if (e != nullptr && e->value().type() != type) {
    ctx.reply.Error(errors::kWrongType);
    return false;
  }
  *entry = e;
  return true;
}

}  // namespace understudy::server
