#include "server/commands/families.h"
#include "server/server.h"

namespace understudy::server {

void RegisterAllCommands(CommandTable& table) {
  RegisterStringCommands(table);
  RegisterKeyCommands(table);
  RegisterConnectionCommands(table);
  RegisterServerCommands(table);
  RegisterTransactionCommands(table);
}

}  // namespace understudy::server
