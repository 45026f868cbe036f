#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace understudy::protocol {

// Appends one request in RESP multibulk form ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
// the form every Redis server accepts whatever protocol version it speaks.
inline void AppendCommand(std::string* out, std::span<const std::string_view> args) {
  out->push_back('*');
  out->append(std::to_string(args.size()));
  out->append("\r\n");
  for (std::string_view arg : args) {
    out->push_back('$');
    out->append(std::to_string(arg.size()));
    out->append("\r\n");
    out->append(arg);
    out->append("\r\n");
  }
}

inline void AppendCommand(std::string* out, std::initializer_list<std::string_view> args) {
  AppendCommand(out, std::span<const std::string_view>(args.begin(), args.size()));
}

}  // namespace understudy::protocol
