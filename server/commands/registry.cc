#include "server/commands/families.h"
#include "server/server.h"

namespace understudy::server {

void RegisterAllCommands(CommandTable& table) {
  RegisterStringCommands(table);
  RegisterKeyCommands(table);
  RegisterConnectionCommands(table);
  RegisterServerCommands(table);
  RegisterTransactionCommands(table);
  RegisterHashCommands(table);
  RegisterSetCommands(table);
  RegisterSortedSetCommands(table);
  RegisterListCommands(table);
  RegisterBlockingCommands(table);
  RegisterPubSubCommands(table);
  RegisterScriptingCommands(table);
}

}  // namespace understudy::server
