// Blocking commands' bookkeeping of Server: which clients wait on which keys,
// and serving them when a key becomes ready.
#include "server/server.h"

namespace understudy::server {

void Server::SignalKeyAsReady(int db_index, std::string_view key) {}

}  // namespace understudy::server
