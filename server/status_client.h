#pragma once

#include <string>
#include <string_view>

namespace understudy::server {

// `understudy --status HOST:PORT`: the operator's look at one daemon.
// Connects, reads INFO server and INFO understudy, prints a compact summary
// (mode, primary state and since when, degraded or not, mirror, journal,
// one line per class with its keys and staleness), coloured when stdout is
// a terminal. A password, when the daemon wants one, is taken from the
// REDISCLI_AUTH environment variable, as redis-cli does, never from argv.
//
// Exit codes (docs/operations.md, "Status"):
inline constexpr int kStatusOk = 0;           // reachable and not degraded
inline constexpr int kStatusDegraded = 1;     // reachable, INFO says degraded:1
inline constexpr int kStatusUnreachable = 2;  // no connection, or no usable INFO reply
inline constexpr int kStatusUsage = 3;        // HOST:PORT missing or malformed

int RunStatus(std::string_view address);

}  // namespace understudy::server
