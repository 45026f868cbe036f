#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {

void RegisterSetCommands(CommandTable& table) {}

}  // namespace understudy::server
