#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {

void RegisterBlockingCommands(CommandTable& table) {}

}  // namespace understudy::server
