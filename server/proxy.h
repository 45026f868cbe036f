#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "replication/key_class.h"
#include "replication/mirror.h"
#include "replication/primary_link.h"
#include "replication/reconciler.h"
#include "server/client_session.h"
#include "server/server.h"

namespace understudy::server {

// Counters of where requests went, for INFO understudy.
struct ProxyStats {
  uint64_t proxied = 0;        // answered by the primary
  uint64_t local = 0;          // answered from the local store (including failed-over requests)
  uint64_t rejected = 0;       // -TRYAGAIN: the class says reject during an outage
  uint64_t failed_over = 0;    // in flight when the primary failed, then answered locally
  uint64_t write_through = 0;  // acknowledged writes applied to the local store
  // EVALSHA answered -NOSCRIPT by the primary and sent again with the body
  // understudy remembered (docs/scripting.md, "With a primary").
  uint64_t script_reloads = 0;
};

// "-TRYAGAIN primary unavailable": the reply for an `outage reject` class
// (and for commands only the primary can run) while it is not healthy.
inline constexpr std::string_view kPrimaryUnavailable = "TRYAGAIN primary unavailable";

// The routing half of the primary link (the upstream half is
// replication::PrimaryLink): decides, per request, whether the primary or
// the local store answers, and keeps the classification of keys.
class Proxy {
 public:
  Proxy(Server& server, replication::PrimaryLink& link);
  ~Proxy();

  Server& server() { return server_; }
  replication::PrimaryLink& link() { return link_; }
  const replication::KeyClassifier& classifier() const { return classifier_; }
  ProxyStats& stats() { return stats_; }
  // The mirror of the mirrored classes, when some class is mirrored; its
  // staleness bounds how long such classes are served in an outage.
  void set_mirror(replication::Mirror* mirror) { mirror_ = mirror; }
  const replication::Mirror* mirror() const { return mirror_; }
  // The journal's replay onto the primary (INFO understudy shows it).
  void set_reconciler(const replication::Reconciler* reconciler) { reconciler_ = reconciler; }
  const replication::Reconciler* reconciler() const { return reconciler_; }

  // How one request is answered.
  enum class Route {
    kLocal,    // run here, as standalone
    kPrimary,  // send to the primary (shared or pinned connection)
    kReject,   // -TRYAGAIN primary unavailable
  };
  // The route for `args` from `client` given the primary's state now.
  // `spec` is the command (nullptr: not a command understudy knows).
  // `near_cache_ok`: the client has nothing in flight to the primary, so a
  // read answered from the mirror cannot overtake its own write.
  Route Decide(const ClientSession& client, const CommandSpec* spec,
               std::span<const std::string_view> args, bool near_cache_ok = false) const;
  // True when the primary must not be bypassed for the keys of `args`:
  // some key's class says `outage reject`, or is mirrored with a
  // max-staleness the mirror has exceeded (fail-closed).
  bool AnyKeyRejects(const CommandSpec& spec, std::span<const std::string_view> args) const;
  // True when a write to `args` must also be applied locally once the
  // primary acknowledges it (a key of a mirrored class).
  bool NeedsWriteThrough(const CommandSpec& spec, std::span<const std::string_view> args) const;
  // Applies an acknowledged write to the local store, in database `db`.
  void ApplyWriteThrough(int db, std::span<const std::string_view> args);
  // Tells the mirror that the write `args` of `spec` (one that
  // NeedsWriteThrough) is in flight to the primary: until OwnWritesDone,
  // fetched values of its keys are not applied (they may or may not include
  // it). Appends those keys to *keys, for the OwnWritesDone call that every
  // call is paired with once the write is answered or given up.
  void OwnWritesSent(const CommandSpec& spec, std::span<const std::string_view> args,
                     std::vector<std::string>* keys);
  void OwnWritesDone(const std::vector<std::string>& keys);
  // Counts a request sent to the primary, or refused during an outage, in
  // INFO understudy's figures and (admin port on) /metrics' routes.
  void CountProxied(const CommandSpec* spec);
  void CountRejected(const CommandSpec* spec);

  bool IsLocalOnly(const CommandSpec& spec) const;
  // The scripting commands the proxy watches go by (server/proxy_scripts.cc).
  enum class ScriptCommand : uint8_t { kNone, kEval, kEvalRo, kEvalSha, kEvalShaRo, kLoad, kFlush };
  // Which of them `spec` is; kNone for every other command (a few pointer
  // comparisons: the cost on the path of ordinary commands).
  ScriptCommand ScriptCommandOf(const CommandSpec* spec) const {
    if (spec == nullptr) return ScriptCommand::kNone;
    if (spec == known_.evalsha) return ScriptCommand::kEvalSha;
    if (spec == known_.eval) return ScriptCommand::kEval;
    if (spec == known_.evalsha_ro) return ScriptCommand::kEvalShaRo;
    if (spec == known_.eval_ro) return ScriptCommand::kEvalRo;
    if (spec == known_.script_load) return ScriptCommand::kLoad;
    if (spec == known_.script_flush) return ScriptCommand::kFlush;
    return ScriptCommand::kNone;
  }
  // Adds the script body of an EVAL, EVAL_RO or SCRIPT LOAD request to the
  // server's script cache (nothing for other commands), so that EVALSHA
  // works locally once an outage begins.
  void RememberScript(ScriptCommand command, std::span<const std::string_view> args);
  // While healthy: may this read be answered from the mirror? Every key's
  // class has near-cache on, the mirror is live and no key has an
  // invalidation still being fetched.
  bool NearCacheServes(const CommandSpec& spec, std::span<const std::string_view> args) const;
  // During an outage: does `key_class` refuse to be served locally?
  bool ClassRejects(const replication::KeyClass& key_class) const;

  // The commands routing treats specially, looked up once.
  struct KnownCommands {
    const CommandSpec* exec = nullptr;
    const CommandSpec* multi = nullptr;
    const CommandSpec* discard = nullptr;
    const CommandSpec* watch = nullptr;
    const CommandSpec* unwatch = nullptr;
    const CommandSpec* select = nullptr;
    const CommandSpec* reset = nullptr;
    const CommandSpec* quit = nullptr;
    const CommandSpec* subscribe = nullptr;
    const CommandSpec* psubscribe = nullptr;
    const CommandSpec* ssubscribe = nullptr;
    const CommandSpec* eval = nullptr;
    const CommandSpec* eval_ro = nullptr;
    const CommandSpec* evalsha = nullptr;
    const CommandSpec* evalsha_ro = nullptr;
    const CommandSpec* script_load = nullptr;
    const CommandSpec* script_flush = nullptr;
    bool IsSubscribe(const CommandSpec* spec) const {
      return spec != nullptr && (spec == subscribe || spec == psubscribe || spec == ssubscribe);
    }
  };
  const KnownCommands& known() const { return known_; }

 private:
  Server& server_;
  replication::PrimaryLink& link_;
  const replication::KeyClassifier& classifier_;  // the server's
  bool any_mirrored_ = false;
  bool any_near_cache_ = false;
  replication::Mirror* mirror_ = nullptr;
  const replication::Reconciler* reconciler_ = nullptr;
  std::unordered_set<const CommandSpec*> local_only_;
  KnownCommands known_;
  ClientSession write_through_session_;
  mutable std::vector<int> key_indexes_;
  ProxyStats stats_;
};

// One client connection's side of the proxy. Requests are answered in the
// order they came, whoever answers them: each gets a slot, and a slot's
// reply is released to the client only when every earlier one has been.
// Holds the client's pinned upstream connection when it is in a stateful
// mode (WATCH, a blocking pop, SUBSCRIBE, a database other than 0).
class ProxyClient : public replication::ReplyTarget,
                    public std::enable_shared_from_this<ProxyClient> {
 public:
  // `on_output`: the client has new reply bytes to write and may accept
  // more requests (the connection writes and resumes reading).
  ProxyClient(Proxy& proxy, ClientSession& session, std::function<void()> on_output);
  ~ProxyClient() override;

  // Handles one parsed request; `raw` is its RESP bytes when it came as a
  // multibulk (empty for an inline command). Returns false when the request
  // must wait (earlier replies are pending on another connection, or too
  // many are pending): the caller keeps it and offers it again after
  // on_output.
  bool Handle(std::span<const std::string_view> args, std::string_view raw);
  // The connection is closing: forget the session, give back the pinned
  // connection. Replies still in flight are dropped when they come.
  void Detach();

  size_t pending_slots() const { return slots_.size(); }
  // Queues an error reply behind the replies still due (a protocol error
  // found by the connection, which then closes once they are all out).
  void QueueError(std::string_view error_text) { Reply(error_text); }

  // replication::ReplyTarget
  void OnUpstreamReply(uint64_t token, std::string_view reply, char type) override;
  void OnUpstreamFailed(uint64_t token) override;
  void OnUpstreamBatchEnd() override;

 private:
  enum class SlotKind : uint8_t { kLocal, kCommand, kTransaction, kBlocking, kWatchedExec };
  // Where a command queued in MULTI runs: understudy answers connection
  // commands itself; SELECT runs in both places (the commands after it run
  // in that database on the primary, and the client moves too).
  enum class QueuedPlace : uint8_t { kPrimary, kHere, kBoth };
  struct Slot {
    uint64_t token = 0;
    SlotKind kind = SlotKind::kLocal;
    bool done = false;
    bool write_through = false;
    // write_through: the keys the mirror holds re-fetches back for.
    std::vector<std::string> own_write_keys;
    std::string reply;
    std::string request;                // the RESP request, to fail it over
    std::vector<QueuedCommand> queued;  // kTransaction: the commands of MULTI
    // kTransaction / kWatchedExec: where each queued command runs (empty:
    // all on the primary), and whether EXEC subscribed the client.
    std::vector<QueuedPlace> places;
    bool tunnel_after = false;
    // A scripting command whose reply understudy looks at (kCommand only).
    Proxy::ScriptCommand script = Proxy::ScriptCommand::kNone;
  };

  // Runs the request here, in its turn; `lookup` (when given) is its
  // command as Handle found it, so it is not looked up again.
  void RunLocally(std::span<const std::string_view> args, const CommandLookup* lookup = nullptr);
  void Reply(std::string_view error_text);
  void Execute(ClientSession& session, std::span<const std::string_view> args,
               const CommandLookup* lookup);
  Slot& NewSlot(SlotKind kind);
  Slot* FindSlot(uint64_t token);
  void FailOver(Slot& slot);
  // The slot's write-through writes are no longer in flight
  // (Proxy::OwnWritesDone); a no-op for other slots.
  void EndOwnWrites(const Slot& slot);
  void AnswerLocally(Slot& slot);
  // Moves every reply whose turn has come to the client's output.
  void Drain();
  // `tunnel`: the command turns the connection into a stream (SUBSCRIBE,
  // MONITOR); the client is tunnelled to a pinned connection from now on.
  bool SendToPrimary(const CommandSpec* spec, std::span<const std::string_view> args,
                     std::string_view raw, bool tunnel);
  bool SendTransaction();
  // The primary's reply to a scripting command (server/proxy_scripts.cc):
  // remembers EVAL and SCRIPT LOAD bodies, empties the local cache on SCRIPT
  // FLUSH, and answers -NOSCRIPT to an EVALSHA whose body is known by
  // sending the script again. True when the reply is consumed that way (the
  // slot then waits for the new reply).
  bool OnScriptReply(Slot& slot, std::string_view reply, char type);
  // EXEC's array from the primary with the replies of the commands run
  // here put in their places (they run now, in order, after the others).
  std::string MergeExecReply(const Slot& slot, std::string_view reply);
  // Forgets the client's WATCH on the primary too (DISCARD, an EXEC that
  // aborts here): the pinned connection is sent UNWATCH.
  void DropWatch();
  // The connection this client's next request must use. nullptr with
  // *must_wait: earlier replies are due on another connection first;
  // nullptr without: no pinned connection is free (the error is replied).
  replication::UpstreamConnection* ConnectionFor(bool want_pinned, bool* must_wait);
  void Unpin();

  Proxy& proxy_;
  ClientSession* session_;
  std::function<void()> on_output_;
  std::deque<Slot> slots_;
  uint64_t next_token_ = 1;
  // The connection that the pending primary-bound slots went to; a request
  // for another connection waits until they are answered.
  replication::UpstreamConnection* outstanding_on_ = nullptr;
  size_t outstanding_ = 0;
  std::shared_ptr<replication::UpstreamConnection> pinned_;
  bool tunnel_ = false;
  bool watching_ = false;
  bool in_handle_ = false;
  std::string encoded_;  // scratch: an inline request re-encoded as RESP
};

}  // namespace understudy::server
