#include "server/proxy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "protocol/reply_parser.h"
#include "protocol/request_parser.h"
#include "protocol/request_writer.h"
#include "server/metrics.h"  // CountRoute (admin port)

namespace understudy::server {

namespace {

// Requests a client may have waiting for replies before its connection
// stops reading from it (backpressure, as the output soft limit does).
constexpr size_t kMaxPendingSlots = 4096;

// Commands that understudy answers itself whatever the primary's state:
// they are about the connection to understudy, or about understudy.
constexpr std::string_view kLocalOnlyCommands[] = {
    "auth", "hello", "select", "client", "info", "config",   "command",
    "ping", "echo",  "quit",   "reset",  "time", "shutdown",
};

bool IsUnsubscribe(const CommandSpec* spec) {
  if (spec == nullptr || spec->parent != nullptr) return false;
  const std::string& name = spec->name;
  return name == "unsubscribe" || name == "punsubscribe" || name == "sunsubscribe";
}

// What to do with a command understudy does not implement.
enum class UnknownCommand {
  kForward,  // send it on like any other
  kTunnel,   // it turns the connection into a stream (MONITOR): pinned, tunnelled
  kRefuse,   // it would make a shared connection a replica's (SYNC, PSYNC, REPLCONF)
};

UnknownCommand ClassifyUnknown(std::string_view name) {
  auto is = [name](std::string_view candidate) {
    return name.size() == candidate.size() &&
           std::equal(name.begin(), name.end(), candidate.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  if (is("monitor")) return UnknownCommand::kTunnel;
  if (is("sync") || is("psync") || is("replconf")) return UnknownCommand::kRefuse;
  return UnknownCommand::kForward;
}

// Runs `run`, which writes replies to `session`, and returns what it wrote,
// leaving the output already pending for the client where it was (a reply
// that must wait its turn behind others).
template <typename Run>
std::string CaptureReply(ClientSession& session, Run&& run) {
  std::string earlier;
  earlier.swap(session.reply);
  run();
  std::string captured;
  captured.swap(session.reply);
  session.reply.swap(earlier);
  return captured;
}

}  // namespace

// ---------------------------------------------------------------- Proxy

Proxy::Proxy(Server& server, replication::PrimaryLink& link)
    : server_(server),
      link_(link),
      classifier_(server.classifier()),
      write_through_session_(0, server.clock().NowMs()) {
  for (const replication::KeyClass& key_class : classifier_.classes()) {
    if (key_class.mirror) any_mirrored_ = true;
    if (key_class.mirror && key_class.near_cache) any_near_cache_ = true;
  }
  const CommandTable& table = server.commands();
  known_.exec = table.Find("exec");
  known_.multi = table.Find("multi");
  known_.discard = table.Find("discard");
  known_.watch = table.Find("watch");
  known_.unwatch = table.Find("unwatch");
  known_.select = table.Find("select");
  known_.reset = table.Find("reset");
  known_.quit = table.Find("quit");
  known_.subscribe = table.Find("subscribe");
  known_.psubscribe = table.Find("psubscribe");
  known_.ssubscribe = table.Find("ssubscribe");
  known_.eval = table.Find("eval");
  known_.eval_ro = table.Find("eval_ro");
  known_.evalsha = table.Find("evalsha");
  known_.evalsha_ro = table.Find("evalsha_ro");
  static constexpr std::string_view kScriptLoad[] = {"script", "load"};
  static constexpr std::string_view kScriptFlush[] = {"script", "flush"};
  known_.script_load = table.Lookup(kScriptLoad).spec;
  known_.script_flush = table.Lookup(kScriptFlush).spec;
  for (std::string_view name : kLocalOnlyCommands) {
    if (const CommandSpec* spec = server.commands().Find(name)) local_only_.insert(spec);
  }
  write_through_session_.authenticated = true;
  write_through_session_.name = "understudy-write-through";
  server_.set_proxy(this);
}

Proxy::~Proxy() { server_.set_proxy(nullptr); }

bool Proxy::IsLocalOnly(const CommandSpec& spec) const {
  const CommandSpec* top = spec.parent != nullptr ? spec.parent : &spec;
  return local_only_.count(top) > 0;
}

Proxy::Route Proxy::Decide(const ClientSession& client, const CommandSpec* spec,
                           std::span<const std::string_view> args, bool near_cache_ok) const {
  // Authentication, arity and the like are understudy's own business.
  if (!client.authenticated) return Route::kLocal;
  // Inside MULTI an unknown command is refused here, which aborts EXEC as
  // Redis would; it is not sent ahead of the transaction.
  if (spec == nullptr && client.in_multi) return Route::kLocal;
  if (spec != nullptr) {
    if (!spec->ArityOk(args.size())) return Route::kLocal;
    if (IsLocalOnly(*spec)) return Route::kLocal;
    // MULTI is queued here and sent as one block at EXEC.
    if (spec == known_.multi || spec == known_.discard) return Route::kLocal;
    if (client.in_multi && spec != known_.exec) return Route::kLocal;
  }
  if (link_.healthy()) {
    // The mirror holds database 0 only.
    const bool near =
        near_cache_ok && client.db_index == 0 && spec != nullptr && NearCacheServes(*spec, args);
    return near ? Route::kLocal : Route::kPrimary;
  }
  // The primary cannot answer: the local store does, unless a key's class
  // (or, for a command understudy cannot run, the command) says otherwise.
  if (spec == nullptr) return Route::kReject;
  if (client.in_multi) return Route::kLocal;  // EXEC: the queued commands run here
  return AnyKeyRejects(*spec, args) ? Route::kReject : Route::kLocal;
}

bool Proxy::AnyKeyRejects(const CommandSpec& spec, std::span<const std::string_view> args) const {
  key_indexes_.clear();
  spec.KeyIndexes(args, &key_indexes_);
  if (key_indexes_.empty()) {
    // Keyless commands (DBSIZE, SCAN, PUBLISH...) follow the default class.
    return ClassRejects(classifier_.ClassOf(""));
  }
  for (int index : key_indexes_) {
    if (ClassRejects(classifier_.ClassOf(args[index]))) return true;
  }
  return false;
}

bool Proxy::NearCacheServes(const CommandSpec& spec, std::span<const std::string_view> args) const {
  if (!any_near_cache_ || mirror_ == nullptr || !mirror_->live()) return false;
  if (!spec.has(kCmdReadOnly) || spec.has(kCmdBlocking)) return false;
  // A read-only script may read keys it did not declare, and its body may
  // be known to the primary only: it always goes there.
  if (&spec == known_.eval_ro || &spec == known_.evalsha_ro) return false;
  key_indexes_.clear();
  spec.KeyIndexes(args, &key_indexes_);
  if (key_indexes_.empty()) return false;
  for (int index : key_indexes_) {
    const replication::KeyClass& key_class = classifier_.ClassOf(args[index]);
    if (!key_class.near_cache || mirror_->IsPending(args[index])) return false;
  }
  return true;
}

bool Proxy::ClassRejects(const replication::KeyClass& key_class) const {
  if (key_class.outage == replication::OutagePolicy::kReject) return true;
  if (key_class.mirror && key_class.max_staleness_ms > 0 && mirror_ != nullptr) {
    const int64_t stale_since = mirror_->stale_since_ms();
    if (stale_since != 0 && server_.clock().NowMs() - stale_since > key_class.max_staleness_ms) {
      return true;
    }
  }
  return false;
}

bool Proxy::NeedsWriteThrough(const CommandSpec& spec,
                              std::span<const std::string_view> args) const {
  if (!any_mirrored_) return false;
  // A script that may write is applied here too, by running it on the
  // mirrored state (docs/scripting.md, "With a primary").
  if (!spec.has(kCmdWrite) && &spec != known_.eval && &spec != known_.evalsha) return false;
  key_indexes_.clear();
  spec.KeyIndexes(args, &key_indexes_);
  for (int index : key_indexes_) {
    if (classifier_.ClassOf(args[index]).mirror) return true;
  }
  return false;
}

void Proxy::ApplyWriteThrough(int db, std::span<const std::string_view> args) {
  write_through_session_.db_index = db;
  write_through_session_.reply.clear();
  server_.Execute(write_through_session_, args);
  write_through_session_.reply.clear();
  ++stats_.write_through;
  // The invalidation this write causes may have been re-fetched already, in
  // which case the write now counts twice locally (an INCR): the primary's
  // value, fetched once more, settles it.
  if (mirror_ != nullptr && db == 0) {
    const CommandSpec* spec = server_.commands().Lookup(args).spec;
    if (spec == nullptr) return;
    key_indexes_.clear();
    spec->KeyIndexes(args, &key_indexes_);
    for (int index : key_indexes_) mirror_->Refetch(args[index]);
  }
}

void Proxy::CountProxied(const CommandSpec* spec) {
  ++stats_.proxied;
  CountRoute(server_, spec, CommandRoute::kProxied);
}

void Proxy::CountRejected(const CommandSpec* spec) {
  ++stats_.rejected;
  CountRoute(server_, spec, CommandRoute::kRejected);
}

void Proxy::OwnWritesSent(const CommandSpec& spec, std::span<const std::string_view> args,
                          std::vector<std::string>* keys) {
  if (mirror_ == nullptr) return;
  key_indexes_.clear();
  spec.KeyIndexes(args, &key_indexes_);
  for (int index : key_indexes_) {
    mirror_->OwnWriteSent(args[index]);
    keys->emplace_back(args[index]);
  }
}

void Proxy::OwnWritesDone(const std::vector<std::string>& keys) {
  if (mirror_ == nullptr) return;
  for (const std::string& key : keys) mirror_->OwnWriteDone(key);
}

// ---------------------------------------------------------------- ProxyClient

ProxyClient::ProxyClient(Proxy& proxy, ClientSession& session, std::function<void()> on_output)
    : proxy_(proxy), session_(&session), on_output_(std::move(on_output)) {}

ProxyClient::~ProxyClient() = default;

void ProxyClient::Detach() {
  for (const Slot& slot : slots_) {
    if (!slot.done) EndOwnWrites(slot);
  }
  session_ = nullptr;
  slots_.clear();
  outstanding_ = 0;
  outstanding_on_ = nullptr;
  Unpin();
}

void ProxyClient::Unpin() {
  if (!pinned_) return;
  auto pinned = std::move(pinned_);
  pinned_.reset();
  tunnel_ = false;
  watching_ = false;
  if (outstanding_on_ == pinned.get()) {
    outstanding_on_ = nullptr;
    outstanding_ = 0;
  }
  proxy_.link().ReleasePinned(pinned);
}

ProxyClient::Slot& ProxyClient::NewSlot(SlotKind kind) {
  Slot& slot = slots_.emplace_back();
  slot.token = next_token_++;
  slot.kind = kind;
  return slot;
}

ProxyClient::Slot* ProxyClient::FindSlot(uint64_t token) {
  if (slots_.empty() || token < slots_.front().token) return nullptr;
  uint64_t index = token - slots_.front().token;
  if (index >= slots_.size()) return nullptr;
  return &slots_[index];
}

void ProxyClient::Execute(ClientSession& session, std::span<const std::string_view> args,
                          const CommandLookup* lookup) {
  if (lookup != nullptr) {
    proxy_.server().Execute(session, args, *lookup);
  } else {
    proxy_.server().Execute(session, args);
  }
}

void ProxyClient::RunLocally(std::span<const std::string_view> args, const CommandLookup* lookup) {
  ClientSession& session = *session_;
  ++proxy_.stats().local;
  if (slots_.empty()) {
    Execute(session, args, lookup);
    return;
  }
  // Behind replies still awaited: keep this one until they are out.
  Slot& slot = NewSlot(SlotKind::kLocal);
  slot.reply = CaptureReply(session, [&] { Execute(session, args, lookup); });
  slot.done = true;
}

void ProxyClient::Reply(std::string_view error_text) {
  ClientSession& session = *session_;
  if (slots_.empty()) {
    session.writer().Error(error_text);
    return;
  }
  Slot& slot = NewSlot(SlotKind::kLocal);
  protocol::ReplyWriter(&slot.reply, session.resp, session.error_counter).Error(error_text);
  slot.done = true;
}

bool ProxyClient::Handle(std::span<const std::string_view> args, std::string_view raw) {
  if (session_ == nullptr) return true;
  ClientSession& session = *session_;
  if (slots_.size() >= kMaxPendingSlots) return false;
  in_handle_ = true;
  struct Leave {
    ProxyClient* self;
    ~Leave() {
      self->in_handle_ = false;
      self->Drain();  // the connection writes once Handle returns
    }
  } leave{this};

  const CommandLookup lookup = proxy_.server().commands().Lookup(args);
  const CommandSpec* spec = lookup.spec;
  // An unknown subcommand of a command understudy answers itself (CLIENT
  // TRACKING, say) must not reach a shared connection: refused here.
  if (spec == nullptr && lookup.container != nullptr && proxy_.IsLocalOnly(*lookup.container)) {
    RunLocally(args, &lookup);
    return true;
  }
  const UnknownCommand unknown =
      spec == nullptr ? ClassifyUnknown(args[0]) : UnknownCommand::kForward;
  if (unknown == UnknownCommand::kRefuse && session.authenticated) {
    Reply("ERR understudy does not proxy '" + std::string(args[0]) + "'");
    return true;
  }
  if (raw.empty()) {
    encoded_.clear();
    protocol::AppendCommand(&encoded_, args);
    raw = encoded_;
  }

  if (tunnel_) {
    // A subscribed client talks to the primary directly: messages come
    // unasked, so replies cannot be matched to requests. Only leaving is
    // handled here.
    if (proxy_.known().quit == spec || proxy_.known().reset == spec) {
      Unpin();
      RunLocally(args, &lookup);
      return true;
    }
    if (pinned_ && !pinned_->closed()) {
      proxy_.CountProxied(spec);
      pinned_->Send(raw, nullptr, 0);
      return true;
    }
    Unpin();
  }

  // Not subscribed on the primary: one reply per channel, which a shared
  // connection cannot match to one request (and RESP3 sends them as
  // pushes). The local answer is the same: subscribed to nothing.
  if (IsUnsubscribe(spec)) {
    RunLocally(args, &lookup);
    return true;
  }

  // Changing database or resetting drops the pinned connection, which must
  // first answer what it was sent.
  if ((proxy_.known().select == spec || proxy_.known().reset == spec) && pinned_ &&
      outstanding_ > 0 && outstanding_on_ == pinned_.get()) {
    return false;
  }

  switch (proxy_.Decide(session, spec, args, outstanding_ == 0 && !pinned_)) {
    case Proxy::Route::kLocal: {
      const Proxy::KnownCommands& known = proxy_.known();
      const int db_before = session.db_index;
      const bool was_in_multi = session.in_multi;
      RunLocally(args, &lookup);
      if (known.reset == spec) {
        Unpin();
      } else if (known.select == spec && pinned_) {
        if (!watching_) {
          Unpin();
        } else if (session.db_index != db_before && !pinned_->closed()) {
          // Redis keeps WATCH across SELECT: the pinned connection that
          // holds it follows the client to its new database.
          std::string request;
          protocol::AppendCommand(&request, {"SELECT", args[1]});
          pinned_->Send(request, nullptr, 0);
        }
      }
      // A transaction that ended here (DISCARD, EXEC during an outage), or
      // UNWATCH run here, unwatches on the primary too. Errors (DISCARD
      // without MULTI) and an UNWATCH queued in MULTI keep the WATCH.
      const bool ended = was_in_multi && !session.in_multi;
      if (((known.exec == spec || known.discard == spec) && ended) ||
          (known.unwatch == spec && !was_in_multi)) {
        DropWatch();
      }
      return true;
    }
    case Proxy::Route::kReject:
      proxy_.CountRejected(spec);
      Reply(kPrimaryUnavailable);
      return true;
    case Proxy::Route::kPrimary:
      if (proxy_.known().exec == spec) return SendTransaction();
      return SendToPrimary(spec, args, raw,
                           proxy_.known().IsSubscribe(spec) || unknown == UnknownCommand::kTunnel);
  }
  return true;
}

replication::UpstreamConnection* ProxyClient::ConnectionFor(bool want_pinned, bool* must_wait) {
  ClientSession& session = *session_;
  const bool resp3 = session.resp == protocol::RespVersion::kResp3;
  if (pinned_ && pinned_->closed()) Unpin();
  replication::UpstreamConnection* connection = nullptr;
  if (want_pinned && !pinned_) {
    if (outstanding_ > 0) {
      *must_wait = true;
      return nullptr;
    }
    pinned_ = proxy_.link().OpenPinned(resp3, session.db_index);
    if (!pinned_) {
      Reply("ERR too many clients in a stateful mode (primary-pinned-max reached)");
      return nullptr;
    }
  }
  if (pinned_) {
    connection = pinned_.get();
  } else {
    connection = &proxy_.link().SharedConnection(session.id(), resp3);
  }
  if (outstanding_ > 0 && outstanding_on_ != connection) {
    *must_wait = true;
    return nullptr;
  }
  return connection;
}

bool ProxyClient::SendToPrimary(const CommandSpec* spec, std::span<const std::string_view> args,
                                std::string_view raw, bool tunnel) {
  ClientSession& session = *session_;
  const bool blocking = spec != nullptr && spec->has(kCmdBlocking);
  const bool want_pinned =
      watching_ || proxy_.known().watch == spec || blocking || tunnel || session.db_index != 0;
  bool must_wait = false;
  replication::UpstreamConnection* connection = ConnectionFor(want_pinned, &must_wait);
  if (must_wait) return false;
  if (connection == nullptr) return true;  // refused, with the reply written
  proxy_.CountProxied(spec);
  if (tunnel) {
    connection->EnterTunnel(shared_from_this());
    tunnel_ = true;
    connection->Send(raw, nullptr, 0);
    return true;
  }
  Slot& slot = NewSlot(blocking ? SlotKind::kBlocking : SlotKind::kCommand);
  slot.request.assign(raw);
  slot.write_through = spec != nullptr && proxy_.NeedsWriteThrough(*spec, args);
  if (slot.write_through) proxy_.OwnWritesSent(*spec, args, &slot.own_write_keys);
  if (!blocking) slot.script = proxy_.ScriptCommandOf(spec);
  if (proxy_.known().watch == spec) watching_ = true;
  if (proxy_.known().unwatch == spec) watching_ = false;
  outstanding_on_ = connection;
  ++outstanding_;
  const uint64_t token = slot.token;
  connection->Send(raw, shared_from_this(), token, blocking);
  return true;
}

bool ProxyClient::SendTransaction() {
  ClientSession& session = *session_;
  if (!session.in_multi || session.multi_error) {
    // EXEC without MULTI, or a transaction already doomed: answered here in
    // Redis's words.
    static constexpr std::string_view kExec[] = {"EXEC"};
    const bool aborts = session.in_multi;  // EXECABORT ends it and unwatches
    RunLocally(kExec);
    if (aborts) DropWatch();
    return true;
  }
  // Connection commands queued in the transaction stay here (SELECT goes
  // to the primary as well); a SELECT or a SUBSCRIBE changes the upstream
  // connection, so the transaction needs one of the client's own, as does
  // a database other than 0.
  std::vector<QueuedPlace> places;
  bool any_here = false;
  bool selects = false;
  bool tunnel_after = false;
  std::vector<std::string_view> views;
  for (const QueuedCommand& command : session.queued) {
    views.assign(command.args.begin(), command.args.end());
    const CommandSpec* spec = proxy_.server().commands().Lookup(views).spec;
    QueuedPlace place = QueuedPlace::kPrimary;
    if (spec != nullptr && spec == proxy_.known().select) {
      place = QueuedPlace::kBoth;
      selects = true;
    } else if (spec != nullptr && proxy_.IsLocalOnly(*spec)) {
      place = QueuedPlace::kHere;
    }
    if (proxy_.known().IsSubscribe(spec)) tunnel_after = true;
    any_here = any_here || place != QueuedPlace::kPrimary;
    places.push_back(place);
  }
  const bool want_pinned = watching_ || session.db_index != 0 || selects || tunnel_after;
  bool must_wait = false;
  replication::UpstreamConnection* connection = ConnectionFor(want_pinned, &must_wait);
  if (must_wait) return false;
  if (connection == nullptr) return true;  // refused, with the reply written
  proxy_.CountProxied(proxy_.known().exec);
  // MULTI, the commands and EXEC leave in one block, so nothing of another
  // client sharing the connection comes between them; only EXEC's reply
  // goes back to the client.
  // Their +OK and +QUEUED replies are awaited in order and dropped.
  std::string request;
  protocol::AppendCommand(&request, {"MULTI"});
  connection->Send(request, nullptr, 0);
  for (size_t i = 0; i < session.queued.size(); ++i) {
    if (places[i] == QueuedPlace::kHere) continue;
    const QueuedCommand& command = session.queued[i];
    views.assign(command.args.begin(), command.args.end());
    request.clear();
    protocol::AppendCommand(&request, views);
    connection->Send(request, nullptr, 0);
  }
  Slot& slot = NewSlot(watching_ ? SlotKind::kWatchedExec : SlotKind::kTransaction);
  slot.queued = std::move(session.queued);
  if (any_here) slot.places = std::move(places);
  slot.tunnel_after = tunnel_after;
  slot.request = "*1\r\n$4\r\nEXEC\r\n";
  for (const QueuedCommand& command : slot.queued) {
    views.assign(command.args.begin(), command.args.end());
    const CommandSpec* spec = proxy_.server().commands().Lookup(views).spec;
    if (spec != nullptr && proxy_.NeedsWriteThrough(*spec, views)) {
      slot.write_through = true;
      proxy_.OwnWritesSent(*spec, views, &slot.own_write_keys);
    }
    // Inside a transaction the bodies are remembered as they are sent.
    proxy_.RememberScript(proxy_.ScriptCommandOf(spec), views);
  }
  proxy_.server().DiscardTransaction(session);
  watching_ = false;
  outstanding_on_ = connection;
  ++outstanding_;
  const uint64_t token = slot.token;
  connection->Send(slot.request, shared_from_this(), token);
  return true;
}

void ProxyClient::OnUpstreamReply(uint64_t token, std::string_view reply, char type) {
  if (session_ == nullptr) return;
  ClientSession& session = *session_;
  if (token == 0) {
    if (tunnel_) session.reply.append(reply);
    return;
  }
  Slot* slot = FindSlot(token);
  if (slot == nullptr || slot->done) return;
  if (slot->script != Proxy::ScriptCommand::kNone && OnScriptReply(*slot, reply, type)) return;
  if (type == '-' && session.error_counter != nullptr) ++*session.error_counter;
  if (outstanding_ > 0 && --outstanding_ == 0) outstanding_on_ = nullptr;
  if (slot->write_through && type != '-' && type != '_') {
    std::vector<std::string_view> views;
    if (slot->kind == SlotKind::kCommand) {
      protocol::RequestParser parser;
      if (parser.Parse(slot->request, true) == protocol::ParseStatus::kCommand) {
        proxy_.ApplyWriteThrough(session.db_index, parser.args());
      }
    } else if (reply.size() > 1 && reply[0] == '*' && reply[1] != '-') {
      for (const QueuedCommand& command : slot->queued) {
        views.assign(command.args.begin(), command.args.end());
        const CommandSpec* spec = proxy_.server().commands().Lookup(views).spec;
        if (spec != nullptr && proxy_.NeedsWriteThrough(*spec, views)) {
          proxy_.ApplyWriteThrough(session.db_index, views);
        }
      }
    }
  }
  if (slot->write_through) EndOwnWrites(*slot);
  const bool exec_ran =
      (slot->kind == SlotKind::kTransaction || slot->kind == SlotKind::kWatchedExec) &&
      type == '*' && reply.substr(0, 3) != "*-1";
  std::string merged;
  if (exec_ran && !slot->places.empty()) {
    merged = MergeExecReply(*slot, reply);
    reply = merged;
  }
  if (exec_ran && slot->tunnel_after && pinned_ && !pinned_->closed()) {
    // SUBSCRIBE inside the transaction: from now on the client is tunnelled.
    pinned_->EnterTunnel(shared_from_this());
    tunnel_ = true;
  }
  if (slot == &slots_.front()) {
    // The usual case: nothing earlier is waiting, so no copy into the slot.
    session.reply.append(reply);
    slots_.pop_front();
  } else {
    slot->reply.assign(reply);
    slot->done = true;
  }
}

std::string ProxyClient::MergeExecReply(const Slot& slot, std::string_view reply) {
  ClientSession& session = *session_;
  const size_t header_end = reply.find("\r\n");
  if (header_end == std::string_view::npos) return std::string(reply);
  std::string merged = "*" + std::to_string(slot.queued.size()) + "\r\n";
  size_t pos = header_end + 2;
  protocol::ReplyScanner scanner;
  std::vector<std::string_view> views;
  for (size_t i = 0; i < slot.queued.size(); ++i) {
    std::string_view from_primary;
    if (slot.places[i] != QueuedPlace::kHere) {
      size_t length = 0;
      if (scanner.Scan(reply.substr(pos), &length) != protocol::ScanStatus::kComplete) {
        return std::string(reply);  // not the array expected: leave it as it is
      }
      from_primary = reply.substr(pos, length);
      pos += length;
    }
    if (slot.places[i] == QueuedPlace::kPrimary) {
      merged.append(from_primary);
      continue;
    }
    const QueuedCommand& command = slot.queued[i];
    views.assign(command.args.begin(), command.args.end());
    ++proxy_.stats().local;
    std::string here = CaptureReply(session, [&] { proxy_.server().Execute(session, views); });
    merged.append(slot.places[i] == QueuedPlace::kBoth ? from_primary : std::string_view(here));
  }
  return merged;
}

void ProxyClient::DropWatch() {
  if (watching_ && pinned_ && !pinned_->closed()) {
    std::string request;
    protocol::AppendCommand(&request, {"UNWATCH"});
    pinned_->Send(request, nullptr, 0);
  }
  watching_ = false;
}

void ProxyClient::OnUpstreamFailed(uint64_t token) {
  if (session_ == nullptr) return;
  if (token == 0) {
    if (tunnel_) {
      // The subscription lived on the primary; the client must subscribe
      // again (to the local store, during the outage).
      tunnel_ = false;
      if (session_->request_close) session_->request_close();
    }
    return;
  }
  Slot* slot = FindSlot(token);
  if (slot == nullptr || slot->done) return;
  if (outstanding_ > 0 && --outstanding_ == 0) outstanding_on_ = nullptr;
  ++proxy_.stats().failed_over;
  FailOver(*slot);
}

void ProxyClient::EndOwnWrites(const Slot& slot) {
  if (slot.write_through) proxy_.OwnWritesDone(slot.own_write_keys);
}

// Answers a request whose primary connection failed before its reply came,
// from the local store. Its outcome on the primary is unknown (see
// docs/primary-link.md for what that means per merge rule).
void ProxyClient::FailOver(Slot& slot) {
  ClientSession& session = *session_;
  EndOwnWrites(slot);
  slot.reply = CaptureReply(session, [&] { AnswerLocally(slot); });
  slot.done = true;
  slot.request.clear();
}

// The local answer to a failed-over request, written to the client's reply.
void ProxyClient::AnswerLocally(Slot& slot) {
  ClientSession& session = *session_;
  switch (slot.kind) {
    case SlotKind::kBlocking:
      // As if its timeout had passed: the client asks again and is then
      // served locally.
      session.writer().NullArray();
      break;
    case SlotKind::kWatchedExec:
      // The WATCH lived on the failed connection: abort, as when a watched
      // key changed; the client retries (locally).
      session.writer().NullArray();
      break;
    case SlotKind::kTransaction: {
      const bool was_in_multi = session.in_multi;
      std::vector<QueuedCommand> saved_queue = std::move(session.queued);
      session.in_multi = true;
      session.multi_error = false;
      session.queued = std::move(slot.queued);
      static constexpr std::string_view kExec[] = {"EXEC"};
      proxy_.server().Execute(session, kExec);
      session.in_multi = was_in_multi;
      session.queued = std::move(saved_queue);
      break;
    }
    case SlotKind::kCommand:
    case SlotKind::kLocal: {
      protocol::RequestParser parser;
      if (parser.Parse(slot.request, true) == protocol::ParseStatus::kCommand) {
        std::span<const std::string_view> args(parser.args());
        const CommandSpec* spec = proxy_.server().commands().Lookup(args).spec;
        if (spec == nullptr || proxy_.AnyKeyRejects(*spec, args)) {
          proxy_.CountRejected(spec);
          session.writer().Error(kPrimaryUnavailable);
        } else {
          ++proxy_.stats().local;
          proxy_.server().Execute(session, args);
        }
      }
      break;
    }
  }
}

void ProxyClient::OnUpstreamBatchEnd() {
  if (session_ == nullptr) return;
  Drain();
  // Never from inside Handle: the connection is then in its own loop.
  if (!in_handle_ && on_output_) on_output_();
}

void ProxyClient::Drain() {
  ClientSession& session = *session_;
  while (!slots_.empty() && slots_.front().done) {
    session.reply.append(slots_.front().reply);
    slots_.pop_front();
  }
}

}  // namespace understudy::server
