#pragma once

// Everything the daemon runs only with a primary configured, and how the
// parts meet (docs/primary-link.md, docs/journal.md):
//   - the primary link (health, upstream connections) and the proxy that
//     routes each request to the primary or the local store;
//   - the mirror, live while the primary is healthy;
//   - the outage journal: from the moment the primary is not healthy every
//     local write is journaled (and the store snapshotted);
//   - the reconciler: when the primary answers again (recovering), the
//     journal is replayed onto it, and only then is the primary healthy.

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"

namespace understudy::replication {
class Mirror;
class PrimaryLink;
class Reconciler;
enum class PrimaryState;
}  // namespace understudy::replication

namespace understudy::server {

class Network;
class OutageJournal;
class Proxy;
class Server;

class PrimarySide {
 public:
  PrimarySide(boost::asio::io_context& io, Server& server, Network& network, const Clock& clock);
  ~PrimarySide();
  PrimarySide(const PrimarySide&) = delete;
  PrimarySide& operator=(const PrimarySide&) = delete;

  // Builds the parts, opens the journal (restoring the local store when an
  // outage was still pending) and starts probing the primary. False with
  // *error when the daemon must not start.
  bool Start(std::string* error);
  // Calls `start` (once) when the primary link knows where it stands: after
  // the first probe, or `fallback_ms` at the latest. Clients are admitted
  // then, so that a restarting daemon does not answer its first requests
  // from a local store that is not loaded while the primary is fine (an
  // lww write there would later replace the primary's whole key).
  void WhenLinkReady(std::function<void()> start, int64_t fallback_ms);
  // Stops the link, the mirror and a running reconciliation; flushes the
  // journal. Then lets the closed connections' handlers run.
  void Stop();

  // The journal's checkpoint key on the primary names this daemon.
  const std::string& journal_id() const { return journal_id_; }

 private:
  void OnStateChange(replication::PrimaryState from, replication::PrimaryState to);
  // The primary answers again: replay the journal, then healthy.
  void Reconcile();
  // When the primary's replication ID changed since it was last healthy,
  // journals a write-back of every union-class key the mirror holds.
  void QueueUnionWriteBack();

  boost::asio::io_context& io_;
  Server& server_;
  Network& network_;
  const Clock& clock_;
  std::string journal_id_;
  std::string healthy_replication_id_;  // the primary's, when last healthy
  std::unique_ptr<replication::PrimaryLink> link_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<replication::Mirror> mirror_;
  std::unique_ptr<OutageJournal> journal_;
  std::unique_ptr<replication::Reconciler> reconciler_;
  std::unique_ptr<boost::asio::steady_timer> ready_timer_;
};

}  // namespace understudy::server
