#pragma once

// Pieces shared by the connection and server command families (CLIENT,
// CONFIG, INFO, COMMAND, FLUSHDB...), which live in several files.

#include <string>
#include <string_view>

#include "server/command_table.h"
#include "server/server.h"

namespace understudy::server {

// Registered from RegisterConnectionCommands (connection.cc).
void RegisterClientCommands(CommandTable& table);  // client.cc
// Registered from RegisterServerCommands (server_admin.cc).
void RegisterConfigCommands(CommandTable& table);         // config_command.cc
void RegisterInfoCommands(CommandTable& table);           // info.cc
void RegisterIntrospectionCommands(CommandTable& table);  // command_docs.cc

// Before database `emptied_index` loses its contents (FLUSHDB, FLUSHALL) or
// gets those of `replacement_index` (SWAPDB; -1 if none), marks dirty the
// transactions of clients watching a key that exists there now or will
// exist there after. As Redis 7.0: a key that was already expired when it
// was watched and is now just removed does not count as a change.
void TouchWatchersOfEmptiedDatabase(Server& server, int emptied_index, int replacement_index);

// CLIENT SETNAME / HELLO SETNAME: sets the client's name ("" clears it), or
// replies Redis's error for names with spaces or special characters and
// returns false.
bool SetClientName(CommandContext& ctx, std::string_view name);

// One CLIENT LIST / CLIENT INFO line (without the trailing newline), in
// Redis 7.0's field order. `running_command` is what cmd= shows ("NULL"
// before the first command); `argv_mem` the bytes of the arguments of the
// command the client is running now (0 between commands).
std::string ClientInfoLine(const ClientSession& client, int64_t now_ms,
                           std::string_view running_command, size_t argv_mem);

// A CONTAINER HELP reply: the usage line, `lines`, then the HELP entry.
void ReplyHelp(CommandContext& ctx, std::string_view container,
               std::initializer_list<std::string_view> lines);

// "1.37M": Redis's bytesToHuman() format for INFO memory figures.
std::string BytesToHuman(uint64_t bytes);

}  // namespace understudy::server
