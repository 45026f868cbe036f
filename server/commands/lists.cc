#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {

void RegisterListCommands(CommandTable& table) {}

}  // namespace understudy::server
