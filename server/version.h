#pragma once

namespace understudy::server {

inline constexpr const char* kVersion = "0.1.0";
// The Redis version whose behaviour understudy reproduces; reported by
// HELLO and INFO as redis_version so clients enable the matching features.
inline constexpr const char* kRedisCompatVersion = "7.0.15";

}  // namespace understudy::server
