#pragma once

#include "server/command_table.h"

// One registration function per command family; registry.cc calls them all,
// so the whole command set is assembled in one place.
namespace understudy::server {

void RegisterStringCommands(CommandTable& table);
void RegisterKeyCommands(CommandTable& table);
void RegisterConnectionCommands(CommandTable& table);
void RegisterServerCommands(CommandTable& table);
void RegisterTransactionCommands(CommandTable& table);
void RegisterHashCommands(CommandTable& table);
void RegisterSetCommands(CommandTable& table);
void RegisterSortedSetCommands(CommandTable& table);
void RegisterListCommands(CommandTable& table);
void RegisterBlockingCommands(CommandTable& table);
void RegisterPubSubCommands(CommandTable& table);
void RegisterScriptingCommands(CommandTable& table);

}  // namespace understudy::server
