#pragma once

#include <string_view>

// Error reply texts shared by many commands, exactly as Redis 7.0 words them
// (clients and tests match on them).
namespace understudy::server::errors {

inline constexpr std::string_view kSyntax = "ERR syntax error";
inline constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kNoSuchKey = "ERR no such key";
inline constexpr std::string_view kDbIndexOutOfRange = "ERR DB index is out of range";
inline constexpr std::string_view kNoAuth = "NOAUTH Authentication required.";
// A write during an outage when the outage journal has reached
// journal-max-bytes (docs/journal.md): the class turns to reject.
inline constexpr std::string_view kJournalFull =
    "TRYAGAIN primary unavailable and the outage journal is full";
inline constexpr std::string_view kOom = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr std::string_view kInvalidPassword =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";

}  // namespace understudy::server::errors
