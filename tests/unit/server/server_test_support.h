#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/client_session.h"
#include "server/server.h"

namespace understudy::server::testing_support {

// Runs one request for `client` on `server` and returns exactly the bytes
// it appended to the client's reply, leaving the reply buffer empty.
inline std::string RunRequest(Server& server, ClientSession& client,
                              std::span<const std::string_view> args) {
  client.reply.clear();
  server.Execute(client, args);
  std::string out = std::move(client.reply);
  client.reply.clear();
  return out;
}

inline std::string RunRequest(Server& server, ClientSession& client,
                              std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  return RunRequest(server, client, argv);
}

}  // namespace understudy::server::testing_support
