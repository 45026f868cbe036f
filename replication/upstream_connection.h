#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/latency_histogram.h"
#include "protocol/reply_parser.h"
#include "replication/primary_health.h"

namespace understudy::replication {

// Whoever waits for replies from an upstream connection: a client session
// on the server side, or the link's own probes. Lives in replication/ so
// that this layer never sees the server.
class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;
  // One complete reply (raw RESP bytes, valid only during the call) to the
  // request sent with `token`. `type` is its top-level type byte.
  virtual void OnUpstreamReply(uint64_t token, std::string_view reply, char type) = 0;
  // The connection failed before the reply to `token` arrived: its outcome
  // on the primary is unknown.
  virtual void OnUpstreamFailed(uint64_t token) = 0;
  // Called once after a read's worth of replies (or failures) has been
  // delivered to this target, so it can write them out in one go.
  virtual void OnUpstreamBatchEnd() {}

  // Set while the target is on a connection's list of targets to notify at
  // the end of the current batch (avoids duplicates without a set).
  bool in_upstream_batch = false;
};

struct UpstreamOptions {
  std::string host;
  int port = 0;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  bool resp3 = false;    // HELLO 3 on connect
  int db = 0;            // SELECT on connect when non-zero
  std::string client_name = "understudy";
  int64_t timeout_ms = 200;  // a reply slower than this fails the connection
  // Non-null: TLS over this context, verifying the primary's certificate
  // against `tls_server_name` (or `host` when empty).
  boost::asio::ssl::context* tls = nullptr;
  std::string tls_server_name;
};

// Statistics a connection adds to as it works (owned by its link).
struct UpstreamStats {
  uint64_t replies = 0;
  uint64_t latency_us_total = 0;  // sum over replies of (reply - send) time
  LatencyHistogram latency_us;    // the same times, per bucket (/metrics)
};

// One pipelined connection to the primary. Requests from many clients are
// appended to one output buffer and written together; replies come back in
// the same order and are handed to each request's target. On any failure
// (connect refused, reset, TLS error, a reply over the timeout, or an error
// reply that means the primary cannot serve: -LOADING, -READONLY,
// -MASTERDOWN, -NOAUTH) the connection closes, tells its failure handler
// first and then fails every request still waiting, so they can be answered
// from the local store. A failed connection is never reused.
class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
 public:
  using FailureHandler = std::function<void(UpstreamConnection& connection, FailureKind kind,
                                            std::string_view detail)>;

  UpstreamConnection(boost::asio::io_context& io, UpstreamOptions options, UpstreamStats* stats,
                     FailureHandler on_failure);
  ~UpstreamConnection();

  // Resolves, connects and sends the handshake (HELLO/AUTH, SELECT, CLIENT
  // SETNAME). Requests may be sent at once: they queue behind the handshake.
  void Connect();
  // Queues `request` (complete RESP multibulk bytes). Its reply goes to
  // `target` with `token`. `no_timeout` exempts it from the reply timeout
  // (a blocking command that may legitimately wait).
  void Send(std::string_view request, std::shared_ptr<ReplyTarget> target, uint64_t token,
            bool no_timeout = false);
  // Closes without reporting a failure; waiting requests are failed.
  void Close();
  // Every reply from now on goes to `target` with token 0, whether or not a
  // request is waiting for it (a subscribed client: messages arrive
  // unasked). Requests sent after this carry no reply expectation.
  void EnterTunnel(std::shared_ptr<ReplyTarget> target);

  // RESP3 pushes that arrive outside a tunnel (CLIENT TRACKING's
  // invalidations) go to `handler` instead of being dropped.
  void set_push_handler(std::function<void(std::string_view push)> handler) {
    push_handler_ = std::move(handler);
  }

  bool closed() const { return closed_; }
  bool connected() const { return connected_; }
  size_t pending() const { return pending_.size(); }
  const UpstreamOptions& options() const { return options_; }

 private:
  struct Pending {
    std::shared_ptr<ReplyTarget> target;
    uint64_t token;
    int64_t sent_us;
    bool no_timeout;
  };
  class Stream;
  class HandshakeTarget;

  void OnConnected();
  void StartHandshake();
  void ScheduleFlush();
  void Flush();
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void DeliverReplies();
  void ArmTimer();
  void OnTimer();
  void Fail(FailureKind kind, std::string detail);
  // Closes the socket, reports `failure` (when not null) and fails every
  // waiting request.
  void Shut(const FailureKind* failure, std::string_view detail);
  void FailPending();
  static int64_t NowUs();

  boost::asio::io_context& io_;
  UpstreamOptions options_;
  UpstreamStats* stats_;
  FailureHandler on_failure_;
  std::unique_ptr<Stream> stream_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;

  std::deque<Pending> pending_;
  std::string out_;      // requests not yet handed to the socket
  std::string writing_;  // bytes being written
  bool write_in_progress_ = false;
  bool flush_posted_ = false;
  int64_t batch_sent_us_ = 0;  // send time shared by requests of one flush

  std::vector<char> in_;
  size_t in_start_ = 0;
  size_t in_end_ = 0;
  protocol::ReplyScanner scanner_;
  std::vector<ReplyTarget*> batch_targets_;
  std::vector<std::shared_ptr<ReplyTarget>> batch_keepalive_;

  std::shared_ptr<ReplyTarget> tunnel_;
  std::function<void(std::string_view push)> push_handler_;
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace understudy::replication
