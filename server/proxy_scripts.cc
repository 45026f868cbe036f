// The proxy's side of Lua scripting (docs/scripting.md, "With a primary"):
// while the primary is healthy EVAL, EVALSHA and SCRIPT go to it, and
// understudy keeps every script body it sees go by in the server's script
// cache, so that EVALSHA runs locally once an outage begins and a script the
// primary lost (it restarted) can be sent to it again.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/request_parser.h"
#include "protocol/request_writer.h"
#include "server/proxy.h"

namespace understudy::server {

namespace {

// Redis 7.0's error for a body that does not compile; such a script is not
// cached by the primary, so it is not remembered here either.
constexpr std::string_view kCompileError = "-ERR Error compiling script";

}  // namespace

void Proxy::RememberScript(ScriptCommand command, std::span<const std::string_view> args) {
  switch (command) {
    case ScriptCommand::kEval:
    case ScriptCommand::kEvalRo:
      if (args.size() >= 2) server_.scripts().Remember(args[1]);
      break;
    case ScriptCommand::kLoad:
      if (args.size() >= 3) server_.scripts().Remember(args[2]);
      break;
    default:
      break;
  }
}

bool ProxyClient::OnScriptReply(Slot& slot, std::string_view reply, char type) {
  using Command = Proxy::ScriptCommand;
  protocol::RequestParser parser;
  if (parser.Parse(slot.request, true) != protocol::ParseStatus::kCommand) return false;
  std::span<const std::string_view> args(parser.args());
  ScriptCache& cache = proxy_.server().scripts();
  switch (slot.script) {
    case Command::kEval:
    case Command::kEvalRo:
      // A runtime error still leaves the script in the primary's cache.
      if (!(type == '-' && reply.starts_with(kCompileError)))
        proxy_.RememberScript(slot.script, args);
      return false;
    case Command::kLoad:
      if (type != '-') proxy_.RememberScript(slot.script, args);
      return false;
    case Command::kFlush:
      // The client asked for an empty script cache: after the primary's, the
      // one it would use during an outage is emptied too.
      if (type == '+') cache.Flush();
      return false;
    case Command::kEvalSha:
    case Command::kEvalShaRo:
      break;
    case Command::kNone:
      return false;
  }
  if (type != '-' || !reply.starts_with("-NOSCRIPT") || args.size() < 3) return false;
  const std::string* body = cache.BodyOf(args[1]);
  replication::UpstreamConnection* connection = outstanding_on_;
  if (body == nullptr || connection == nullptr || connection->closed()) return false;
  // The primary lost the script (a restart, or a SCRIPT FLUSH that did not
  // come through here): EVAL with the same keys and arguments runs it and
  // caches it there again. The slot keeps its place, so the client gets the
  // script's reply where the EVALSHA's belongs; EVAL's reply is looked at
  // like any EVAL's, so a second -NOSCRIPT cannot loop.
  std::vector<std::string_view> retry(args.begin(), args.end());
  const bool read_only = slot.script == Command::kEvalShaRo;
  retry[0] = read_only ? "EVAL_RO" : "EVAL";
  retry[1] = *body;
  std::string request;
  protocol::AppendCommand(&request, retry);
  slot.request = std::move(request);
  slot.script = read_only ? Command::kEvalRo : Command::kEval;
  ++proxy_.stats().script_reloads;
  // Still outstanding on the same connection: the counters stay as they are.
  connection->Send(slot.request, shared_from_this(), slot.token);
  return true;
}

}  // namespace understudy::server
