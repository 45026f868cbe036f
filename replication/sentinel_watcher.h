#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace understudy::replication {

struct HostPort {
  std::string host;
  int port = 0;

  bool operator==(const HostPort&) const = default;
  // "host:port", with an IPv6 literal in brackets ("[::1]:6379").
  std::string ToString() const;
};

// Finds the primary through Redis Sentinel and follows it across failovers.
//
// It asks one sentinel at a time `SENTINEL GET-MASTER-ADDR-BY-NAME <name>`,
// keeps a second connection to the same sentinel SUBSCRIBEd to
// `+switch-master`, and asks again every `refresh_ms` so that a missed event
// cannot leave it on an old master. A sentinel that refuses, times out (e.g.
// SIGSTOPped), answers an error or does not know the name is left for the next
// one in the list; once every sentinel has failed in a row, it waits with
// exponential backoff and jitter (capped) before the next round. It never
// gives up, and it keeps the last known master while no sentinel answers.
//
// It only discovers: whoever receives the address (the primary link) connects
// to it and confirms it with ROLE, and may call RefreshNow() when it finds the
// address is not a writable master.
//
// Everything runs on the io_context's thread, with asynchronous operations
// only; no method may be called from another thread. The io_context must
// outlive the watcher.
class SentinelWatcher {
 public:
  struct Options {
    std::vector<HostPort> sentinels;  // tried in this order
    std::string master_name;          // as in the sentinels' `sentinel monitor`
    // Bound on every step: resolving and connecting, each reply, SUBSCRIBE's
    // confirmation. A sentinel over it is treated as down.
    int64_t timeout_ms = 500;
    // Backoff between rounds of failed attempts: retry_min_ms doubled per
    // failed round, capped at retry_max_ms, then drawn in [half of it, all of it].
    int64_t retry_min_ms = 100;
    int64_t retry_max_ms = 2000;
    // Interval of the safety-net GET-MASTER-ADDR-BY-NAME on the current
    // sentinel. It also detects a sentinel that stopped answering.
    int64_t refresh_ms = 5000;
    // Credentials for sentinels that require them (sentinel's own
    // `requirepass` or ACL user); empty password: no AUTH.
    std::string sentinel_user;
    std::string sentinel_password;
  };

  // What INFO and logs show.
  struct Stats {
    // The sentinel currently followed (it answered, and the subscription is
    // up); empty while looking for one.
    std::optional<HostPort> sentinel;
    uint64_t master_changes = 0;     // times the master was learned or changed
    uint64_t switch_events = 0;      // +switch-master messages for our name
    uint64_t sentinel_failures = 0;  // failed attempts and lost sessions
    std::string last_error;          // "<sentinel>: <what happened>", empty if none yet
  };

  // Returns an error text for options the watcher cannot work with (no
  // sentinel, empty name, a bad port, non-positive timings), else "".
  // Configuration checks it at start-up.
  static std::string ValidateOptions(const Options& options);

  SentinelWatcher(boost::asio::io_context& io, Options options);
  // Stops (see Stop()). Safe at any time on the io thread, including from
  // within the on_master callback.
  ~SentinelWatcher();
  SentinelWatcher(const SentinelWatcher&) = delete;
  SentinelWatcher& operator=(const SentinelWatcher&) = delete;

  // Starts discovery; call once. `on_master` is called on the io thread each
  // time the master's address is first learned or changes (never twice in a
  // row with the same address, never after Stop()). Invalid options (see
  // ValidateOptions) are logged and nothing starts.
  void Start(std::function<void(const HostPort&)> on_master);
  // Closes the connections and cancels the timers; no callback runs after it.
  // The watcher cannot be started again.
  void Stop();
  // Asks the current sentinel again now, e.g. because the address given
  // turned out not to be a master. Does nothing while no sentinel is being
  // followed (an attempt is already under way or scheduled).
  void RefreshNow();

  // The last master address learned; kept while no sentinel answers.
  std::optional<HostPort> master() const;
  Stats stats() const;

 private:
  class Impl;
  // Shared with the pending asynchronous operations, which keep it alive
  // until they have run (cancelled) after Stop().
  std::shared_ptr<Impl> impl_;
};

}  // namespace understudy::replication
