#include "server/server.h"

#include <chrono>

#include "common/ascii.h"
#include "server/blocking.h"
#include "server/errors.h"
#include "server/memory_guard.h"
#include "server/metrics.h"
#include "server/outage_journal.h"
#include "server/scripting/lua_engine.h"

namespace understudy::server {

// Forwards expiry of keys to the WATCH registry.
class Server::WatchExpiryListener : public storage::ExpiryListener {
 public:
  explicit WatchExpiryListener(Server* server) : server_(server) {}
  void OnKeyExpired(int db_index, std::string_view key) override {
    server_->TouchExpiredWatchedKey(db_index, key);
  }

 private:
  Server* server_;
};

void CommandContext::KeyModified(std::string_view key) { server.TouchWatchedKey(db.index(), key); }

void CommandContext::KeyReady(std::string_view key) { server.SignalKeyAsReady(db.index(), key); }

void CommandContext::WrongArity() {
  reply.Error("ERR wrong number of arguments for '" + spec.FullName() + "' command");
}

Server::Server(Config config, const Clock* clock)
    : config_(std::move(config)),
      config_store_(&config_),
      clock_(clock),
      expiry_listener_(std::make_unique<WatchExpiryListener>(this)),
      classifier_(config_.classes),
      blocking_(std::make_unique<BlockingRegistry>(*this)),
      start_time_ms_(clock->NowMs()) {
  RegisterAllCommands(commands_);
  databases_.reserve(config_.databases);
  std::vector<storage::Database*> views;
  for (int i = 0; i < config_.databases; ++i) {
    databases_.push_back(std::make_unique<storage::Database>(i));
    databases_.back()->set_expiry_listener(expiry_listener_.get());
    views.push_back(databases_.back().get());
  }
  memory_guard_ = std::make_unique<MemoryGuard>(*this, classifier_, views);
}

Server::~Server() = default;

void Server::EnableCommandMetrics() {
  if (!command_metrics_) command_metrics_ = std::make_unique<CommandMetrics>(commands_);
}

ClientSession& Server::AddClient() {
  uint64_t id = next_client_id_++;
  auto session = std::make_unique<ClientSession>(id, clock_->NowMs());
  session->authenticated = !auth_required();
  session->error_counter = &stats_.total_error_replies;
  ClientSession& ref = *session;
  clients_.emplace(id, std::move(session));
  ++stats_.total_connections_received;
  return ref;
}

void Server::RemoveClient(ClientSession& client) {
  Unwatch(client);
  blocking_->Forget(client);
  pubsub_.RemoveClient(client);
  clients_.erase(client.id());
}

ClientSession* Server::FindClient(uint64_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.get();
}

bool Server::CheckPassword(std::string_view candidate) const {
  const std::string& secret = config_.requirepass;
  // Compare every byte regardless of where the first difference is, so the
  // time taken does not reveal how much of a guess was right.
  unsigned char diff = candidate.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < candidate.size(); ++i) {
    unsigned char expected = secret.empty() ? 0 : secret[i % secret.size()];
    diff |= static_cast<unsigned char>(candidate[i]) ^ expected;
  }
  return diff == 0 && !secret.empty();
}

namespace {

// Redis formats these messages with printf's %s, which stops at a NUL byte.
std::string_view UpToNul(std::string_view text) { return text.substr(0, text.find('\0')); }

}  // namespace

void Server::RejectUnknown(ClientSession& client, std::span<const std::string_view> args,
                           const CommandLookup& lookup) {
  protocol::ReplyWriter reply = client.writer();
  std::string message;
  if (lookup.container != nullptr) {
    std::string upper(UpToNul(args[0]));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    message = "ERR unknown subcommand '" + std::string(UpToNul(args[1]).substr(0, 128)) +
              "'. Try " + upper + " HELP.";
  } else {
    std::string preview;
    for (size_t i = 1; i < args.size() && preview.size() < 128; ++i) {
      preview += "'";
      preview += UpToNul(args[i]).substr(0, 128 - preview.size() + 1);
      preview += "' ";
    }
    message = "ERR unknown command '" + std::string(UpToNul(args[0]).substr(0, 128)) +
              "', with args beginning with: " + preview;
  }
  reply.Error(message);
}

void Server::Execute(ClientSession& client, std::span<const std::string_view> args,
                     const CommandLookup& lookup) {
  const CommandSpec* spec = lookup.spec;
  if (spec == nullptr) {
    RejectUnknown(client, args, lookup);
    if (client.in_multi) client.multi_error = true;
    return;
  }
  if (!spec->ArityOk(args.size())) {
    RejectCommand(client, *spec,
                  "ERR wrong number of arguments for '" + spec->FullName() + "' command");
    return;
  }
  if (!client.authenticated && !spec->has(kCmdNoAuth)) {
    RejectCommand(client, *spec, errors::kNoAuth);
    return;
  }
  // A RESP2 connection that subscribed carries messages, not replies to
  // arbitrary commands (RESP3 tells them apart as pushes).
  if (client.resp == protocol::RespVersion::kResp2 && client.pubsub_mode() &&
      !AllowedInSubscribedMode(*spec)) {
    RejectCommand(client, *spec,
                  "ERR Can't execute '" + spec->FullName() +
                      "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                      "allowed in this context");
    return;
  }
  const bool script_running = lua_ != nullptr && lua_->running();
  if (script_running && lua_->timed_out() && RejectWhileBusy(client, *spec, args)) return;
  // Nothing is evicted under a running script's feet (by an allow-busy
  // command another client sends meanwhile).
  if (config_.maxmemory != 0 && !script_running && !AdmitUnderMaxmemory(client, *spec, args)) {
    return;
  }
  if (client.in_multi && !spec->has(kCmdSkipQueue)) {
    if (spec->has(kCmdNoMulti)) {
      RejectCommand(client, *spec, "ERR Command not allowed inside a transaction");
      return;
    }
    // Once EXEC is bound to fail there is no point keeping more commands;
    // Redis does not (CLIENT LIST's multi= count shows it).
    if (!client.multi_error && !client.watch_dirty) {
      QueuedCommand queued;
      queued.args.assign(args.begin(), args.end());
      client.queued.push_back(std::move(queued));
    }
    client.reply.append("+QUEUED\r\n");
    return;
  }
  Call(client, *spec, args);
  // Clients blocked on keys this command (or EXEC) gave elements to are
  // served now that it has finished, as Redis's handleClientsBlockedOnKeys.
  // Not in the middle of a busy script (SCRIPT KILL, WATCH... run then):
  // its caller's Execute serves them once the script is over.
  if (blocking_->has_ready_keys() && !script_running) {
    blocking_->ServeReadyKeys();
  }
}

LuaEngine& Server::lua() {
  if (lua_ == nullptr) lua_ = std::make_unique<LuaEngine>(*this);
  return *lua_;
}

size_t Server::lua_memory_bytes() const { return lua_ == nullptr ? 0 : lua_->memory_bytes(); }

bool Server::script_busy() const { return lua_ != nullptr && lua_->timed_out(); }

void Server::ServeWhileBusy(uint64_t running_client) {
  if (busy_handler_) busy_handler_(running_client);
  // SHUTDOWN NOSAVE was among them: stop the script so the process can go.
  if (shutdown_requested_ && lua_ != nullptr) lua_->Abort();
}

bool Server::RejectWhileBusy(ClientSession& client, const CommandSpec& spec,
                             std::span<const std::string_view> args) {
  static constexpr std::string_view kBusy =
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
  bool refuse = !spec.has(kCmdAllowBusy);
  if (!refuse && spec.name == "shutdown") {
    // Only a shutdown that saves nothing may cut a script short, as Redis.
    refuse = true;
    for (size_t i = 1; i < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "nosave")) refuse = false;
    }
  }
  if (refuse) RejectCommand(client, spec, kBusy);
  return refuse;
}

bool Server::AdmitUnderMaxmemory(ClientSession& client, const CommandSpec& spec,
                                 std::span<const std::string_view> args) {
  const int64_t now_ms = clock_->NowMs();
  if (memory_guard_->MakeRoom(now_ms)) return true;
  // As Redis: commands that may grow memory are refused, and so is queueing
  // anything in MULTI (the queue itself grows), except EXEC, DISCARD, QUIT
  // and RESET; EXEC is refused when a queued command may grow memory.
  bool refuse = spec.has(kCmdDenyOom);
  const CommandSpec* exec = commands_.Find("exec");
  const bool ends_transaction = &spec == exec || &spec == commands_.Find("discard") ||
                                &spec == commands_.Find("quit") || &spec == commands_.Find("reset");
  if (client.in_multi && !ends_transaction) refuse = true;
  if (&spec == exec) {
    std::vector<std::string_view> views;
    for (const QueuedCommand& queued : client.queued) {
      views.assign(queued.args.begin(), queued.args.end());
      const CommandSpec* queued_spec = commands_.Lookup(views).spec;
      if (queued_spec != nullptr && queued_spec->has(kCmdDenyOom)) refuse = true;
    }
  }
  if (!refuse) return true;
  std::vector<int> keys;
  spec.KeyIndexes(args, &keys);
  memory_guard_->RecordRefusal(keys.empty() ? std::string_view() : args[keys.front()], now_ms);
  RejectCommand(client, spec, errors::kOom);
  return false;
}

void Server::RejectCommand(ClientSession& client, const CommandSpec& spec, std::string_view error) {
  if (&spec == commands_.Find("exec")) {
    // A rejected EXEC (wrong arity, NOAUTH) ends the transaction, even when
    // there is none, and says why in Redis's words: the reason loses its
    // "ERR " but keeps any other code ("... because of: NOAUTH ...").
    DiscardTransaction(client);
    if (error.starts_with("ERR ")) error.remove_prefix(4);
    client.writer().Error("EXECABORT Transaction discarded because of: " + std::string(error));
    return;
  }
  if (client.in_multi) client.multi_error = true;
  client.writer().Error(error);
}

void Server::Call(ClientSession& client, const CommandSpec& spec,
                  std::span<const std::string_view> args, std::optional<int64_t> now_ms) {
  CommandContext ctx{*this, client, *databases_[client.db_index],      client.writer(),
                     args,  spec,   now_ms ? *now_ms : clock_->NowMs()};
  // Counted, and now and then timed, only with the admin port on.
  CommandMetrics* metrics = command_metrics_.get();
  const uint64_t start_ticks = metrics != nullptr ? metrics->Start() : 0;
  if (journal_ != nullptr && journal_->in_outage() && spec.has(kCmdWrite)) {
    CallJournaled(ctx);
  } else {
    spec.handler(ctx);
  }
  if (metrics != nullptr) metrics->Finish(spec, start_ticks);
  // Commands inside EXEC are checked once EXEC returns (as one reply).
  if (!client.in_multi) EnforceOutputBufferLimit(client);
  client.last_command = &spec;
  ++client.commands_processed;
  ++stats_.total_commands_processed;
}

void Server::FlushJournal() {
  if (journal_ != nullptr) journal_->Flush();
}

void Server::CallJournaled(CommandContext& ctx) {
  if (!journal_->BeforeWrite(ctx.client, ctx.spec, ctx.args, ctx.now_ms)) {
    ctx.reply.Error(errors::kJournalFull);
    return;
  }
  const size_t before = ctx.client.reply.size();
  ctx.spec.handler(ctx);
  // Journaled when it ran: a reply that is not an error (a blocking command
  // that blocked has not replied, and changed nothing yet).
  const std::string& reply = ctx.client.reply;
  if (reply.size() > before && reply[before] != '-' && reply[before] != '!') {
    journal_->AfterWrite(ctx.client, ctx.spec, ctx.args, ctx.now_ms);
  }
}

void Server::Cron() {
  const int64_t now_ms = clock_->NowMs();
  memory_guard_->Cron(now_ms);
  FlushJournal();
  // Active expiry: sample each database's volatile keys, repeating while a
  // quarter or more of a sample had expired, within a small time budget so
  // that no cycle stalls clients (Redis's "fast enough, bounded" approach).
  constexpr size_t kSampleSize = 20;
  constexpr auto kBudget = std::chrono::microseconds(2000);
  const auto deadline = std::chrono::steady_clock::now() + kBudget;
  for (size_t n = 0; n < databases_.size(); ++n) {
    storage::Database& db = *databases_[(cron_db_cursor_ + n) % databases_.size()];
    db.Housekeep();
    while (db.volatile_count() > 0) {
      size_t expired = db.ActiveExpire(now_ms, kSampleSize);
      if (expired < kSampleSize / 4) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        cron_db_cursor_ = (cron_db_cursor_ + n) % databases_.size();
        return;
      }
    }
  }
}

}  // namespace understudy::server
