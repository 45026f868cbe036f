#include "server/commands/families.h"
#include "server/commands/helpers.h"

namespace understudy::server {

void RegisterSortedSetCommands(CommandTable& table) {}

}  // namespace understudy::server
