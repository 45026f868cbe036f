#include "replication/upstream_connection.h"

#include <openssl/ssl.h>

#include <chrono>
#include <cstring>

#include "protocol/request_writer.h"

namespace understudy::replication {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 64 * 1024;

// The failure an error reply stands for, if it means the primary cannot
// serve at all (rather than this one command being wrong).
std::optional<FailureKind> FailureOfErrorReply(std::string_view reply) {
  auto starts = [&](std::string_view code) {
    return reply.size() > code.size() && reply.compare(1, code.size(), code) == 0 &&
           (reply[code.size() + 1] == ' ' || reply[code.size() + 1] == '\r');
  };
  if (starts("LOADING")) return FailureKind::kLoading;
  if (starts("READONLY")) return FailureKind::kReadOnly;
  if (starts("MASTERDOWN")) return FailureKind::kMasterDown;
  if (starts("NOAUTH") || starts("WRONGPASS")) return FailureKind::kNoAuth;
  return std::nullopt;
}

std::string_view FirstLine(std::string_view reply) {
  size_t end = reply.find('\r');
  return reply.substr(0, end);
}

}  // namespace

// A TCP socket, or a TLS stream over one; the connection does not care which.
class UpstreamConnection::Stream {
 public:
  Stream(asio::io_context& io, asio::ssl::context* tls) {
    if (tls != nullptr) {
      tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *tls);
    } else {
      plain_ = std::make_unique<tcp::socket>(io);
    }
  }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  asio::ssl::stream<tcp::socket>* tls() { return tls_.get(); }

  template <typename Handler>
  void AsyncReadSome(asio::mutable_buffer buffer, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffer, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffer, std::forward<Handler>(handler));
    }
  }
  template <typename Handler>
  void AsyncWrite(asio::const_buffer buffer, Handler&& handler) {
    if (tls_) {
      asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
    } else {
      asio::async_write(*plain_, buffer, std::forward<Handler>(handler));
    }
  }
  void Close() {
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

 private:
  std::unique_ptr<tcp::socket> plain_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
};

// Checks the replies to the handshake commands; any error fails the
// connection (wrong password, unknown user, HELLO refused...).
class UpstreamConnection::HandshakeTarget : public ReplyTarget {
 public:
  explicit HandshakeTarget(std::weak_ptr<UpstreamConnection> connection)
      : connection_(std::move(connection)) {}
  void OnUpstreamReply(uint64_t, std::string_view reply, char type) override {
    if (type != '-') return;
    auto connection = connection_.lock();
    if (!connection) return;
    std::optional<FailureKind> kind = FailureOfErrorReply(reply);
    std::string detail = "handshake: " + std::string(FirstLine(reply).substr(1));
    if (!kind)
      kind =
          detail.find("AUTH") != std::string::npos ? FailureKind::kNoAuth : FailureKind::kProtocol;
    // Deferred: we are inside the connection's delivery loop.
    asio::post(connection->io_, [connection, kind = *kind, detail = std::move(detail)] {
      connection->Fail(kind, detail);
    });
  }
  void OnUpstreamFailed(uint64_t) override {}

 private:
  std::weak_ptr<UpstreamConnection> connection_;
};

UpstreamConnection::UpstreamConnection(asio::io_context& io, UpstreamOptions options,
                                       UpstreamStats* stats, FailureHandler on_failure)
    : io_(io),
      options_(std::move(options)),
      stats_(stats),
      on_failure_(std::move(on_failure)),
      stream_(std::make_unique<Stream>(io, options_.tls)),
      resolver_(io),
      timer_(io) {}

UpstreamConnection::~UpstreamConnection() = default;

int64_t UpstreamConnection::NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void UpstreamConnection::Connect() {
  StartHandshake();  // queued first, ahead of any request
  auto self = shared_from_this();
  resolver_.async_resolve(
      options_.host, std::to_string(options_.port),
      [self](const boost::system::error_code& ec, tcp::resolver::results_type results) {
        if (self->closed_) return;
        if (ec) {
          self->Fail(FailureKind::kRefused, "resolve " + self->options_.host + ": " + ec.message());
          return;
        }
        asio::async_connect(self->stream_->socket(), results,
                            [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                              if (self->closed_) return;
                              if (ec) {
                                self->Fail(FailureKind::kRefused, "connect: " + ec.message());
                                return;
                              }
                              self->OnConnected();
                            });
      });
}

void UpstreamConnection::OnConnected() {
  boost::system::error_code ignored;
  stream_->socket().set_option(tcp::no_delay(true), ignored);
  auto finish = [self = shared_from_this()] {
    self->connected_ = true;
    self->ReadMore();
    self->Flush();
  };
  auto* tls = stream_->tls();
  if (tls == nullptr) {
    finish();
    return;
  }
  const std::string& name =
      options_.tls_server_name.empty() ? options_.host : options_.tls_server_name;
  SSL_set_tlsext_host_name(tls->native_handle(), name.c_str());
  tls->set_verify_callback(asio::ssl::host_name_verification(name));
  tls->async_handshake(asio::ssl::stream_base::client,
                       [self = shared_from_this(), finish](const boost::system::error_code& ec) {
                         if (self->closed_) return;
                         if (ec) {
                           self->Fail(FailureKind::kTls, "TLS handshake: " + ec.message());
                           return;
                         }
                         finish();
                       });
}

void UpstreamConnection::StartHandshake() {
  auto target = std::make_shared<HandshakeTarget>(weak_from_this());
  std::string request;
  if (options_.resp3) {
    std::vector<std::string_view> hello = {"HELLO", "3"};
    if (!options_.password.empty()) {
      hello.push_back("AUTH");
      hello.push_back(options_.user.empty() ? std::string_view("default") : options_.user);
      hello.push_back(options_.password);
    }
    protocol::AppendCommand(&request, hello);
  } else if (!options_.password.empty()) {
    if (options_.user.empty()) {
      protocol::AppendCommand(&request, {"AUTH", options_.password});
    } else {
      protocol::AppendCommand(&request, {"AUTH", options_.user, options_.password});
    }
  }
  if (!request.empty()) Send(request, target, 0);
  if (options_.db != 0) {
    request.clear();
    std::string db = std::to_string(options_.db);
    protocol::AppendCommand(&request, {"SELECT", db});
    Send(request, target, 0);
  }
  if (!options_.client_name.empty()) {
    request.clear();
    protocol::AppendCommand(&request, {"CLIENT", "SETNAME", options_.client_name});
    Send(request, target, 0);
  }
}

void UpstreamConnection::Send(std::string_view request, std::shared_ptr<ReplyTarget> target,
                              uint64_t token, bool no_timeout) {
  if (closed_) {
    // Never silently lost: the caller learns at once, as on a failure.
    if (target) target->OnUpstreamFailed(token);
    return;
  }
  out_.append(request);
  ScheduleFlush();
  if (tunnel_) return;
  pending_.push_back(Pending{std::move(target), token, batch_sent_us_, no_timeout});
  if (!timer_armed_) ArmTimer();
}

void UpstreamConnection::EnterTunnel(std::shared_ptr<ReplyTarget> target) {
  tunnel_ = std::move(target);
}

void UpstreamConnection::ScheduleFlush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  batch_sent_us_ = NowUs();
  // Deferred to the end of this turn of the loop so that requests from
  // every client handled in it leave in one write.
  asio::post(io_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void UpstreamConnection::Flush() {
  if (closed_ || !connected_ || write_in_progress_ || out_.empty()) return;
  write_in_progress_ = true;
  writing_.swap(out_);
  out_.clear();
  stream_->AsyncWrite(asio::buffer(writing_),
                      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                        self->write_in_progress_ = false;
                        if (self->closed_) return;
                        if (ec) {
                          self->Fail(FailureKind::kReset, "write: " + ec.message());
                          return;
                        }
                        self->writing_.clear();
                        if (self->writing_.capacity() > 4 * 1024 * 1024) {
                          std::string().swap(self->writing_);
                        }
                        self->Flush();
                      });
}

void UpstreamConnection::ReadMore() {
  if (closed_) return;
  if (in_.size() - in_end_ < kReadChunk / 4) {
    size_t unread = in_end_ - in_start_;
    if (in_start_ > 0 && in_.size() - unread >= kReadChunk) {
      std::memmove(in_.data(), in_.data() + in_start_, unread);
    } else {
      std::vector<char> bigger(std::max(in_.size() * 2, unread + kReadChunk));
      if (unread > 0) std::memcpy(bigger.data(), in_.data() + in_start_, unread);
      in_.swap(bigger);
    }
    in_start_ = 0;
    in_end_ = unread;
  }
  stream_->AsyncReadSome(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     size_t n) { self->OnRead(ec, n); });
}

void UpstreamConnection::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closed_) return;
  if (ec) {
    Fail(stream_->tls() && ec.category() == asio::error::get_ssl_category() ? FailureKind::kTls
                                                                            : FailureKind::kReset,
         ec == asio::error::eof ? "closed by the primary" : "read: " + ec.message());
    return;
  }
  in_end_ += n;
  DeliverReplies();
  if (closed_) return;
  if (in_start_ == in_end_) in_start_ = in_end_ = 0;
  ReadMore();
}

void UpstreamConnection::DeliverReplies() {
  auto self = shared_from_this();  // a target may drop the last other reference
  const int64_t now_us = NowUs();
  std::optional<std::pair<FailureKind, std::string>> failure;
  auto join_batch = [this](const std::shared_ptr<ReplyTarget>& target) {
    if (target->in_upstream_batch) return;
    target->in_upstream_batch = true;
    batch_targets_.push_back(target.get());
    batch_keepalive_.push_back(target);
  };
  while (in_start_ < in_end_) {
    std::string_view data(in_.data() + in_start_, in_end_ - in_start_);
    size_t length = 0;
    protocol::ScanStatus status = scanner_.Scan(data, &length);
    if (status == protocol::ScanStatus::kNeedMore) break;
    if (status == protocol::ScanStatus::kError) {
      failure.emplace(FailureKind::kProtocol, "bad reply from the primary: " + scanner_.error());
      break;
    }
    std::string_view reply = data.substr(0, length);
    const char type = scanner_.type();
    if (pending_.empty() || type == '>') {
      in_start_ += length;
      if (tunnel_) {
        // A subscribed client's messages and replies, passed through as
        // they come.
        join_batch(tunnel_);
        tunnel_->OnUpstreamReply(0, reply, type);
        continue;
      }
      if (type == '>') {
        if (push_handler_) push_handler_(reply);
        continue;  // a RESP3 push, not an answer
      }
      failure.emplace(FailureKind::kProtocol, "a reply with no request waiting for it");
      break;
    }
    if (type == '-') {
      if (std::optional<FailureKind> kind = FailureOfErrorReply(reply)) {
        // Left unconsumed: the request it answers is failed over below.
        failure.emplace(*kind, std::string(FirstLine(reply).substr(1)));
        break;
      }
    }
    in_start_ += length;
    Pending entry = std::move(pending_.front());
    pending_.pop_front();
    if (stats_ != nullptr) {
      ++stats_->replies;
      const auto latency_us = static_cast<uint64_t>(std::max<int64_t>(0, now_us - entry.sent_us));
      stats_->latency_us_total += latency_us;
      stats_->latency_us.Observe(latency_us);
    }
    if (entry.target) {
      join_batch(entry.target);
      entry.target->OnUpstreamReply(entry.token, reply, type);
    }
  }
  for (ReplyTarget* target : batch_targets_) {
    target->in_upstream_batch = false;
    target->OnUpstreamBatchEnd();
  }
  batch_targets_.clear();
  batch_keepalive_.clear();
  if (failure) Fail(failure->first, std::move(failure->second));
}

void UpstreamConnection::ArmTimer() {
  if (closed_ || pending_.empty() || pending_.front().no_timeout) {
    timer_armed_ = false;
    return;
  }
  timer_armed_ = true;
  const int64_t due_us = pending_.front().sent_us + options_.timeout_ms * 1000;
  timer_.expires_after(std::chrono::microseconds(std::max<int64_t>(0, due_us - NowUs())));
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    self->OnTimer();
  });
}

void UpstreamConnection::OnTimer() {
  timer_armed_ = false;
  if (pending_.empty()) return;
  const Pending& front = pending_.front();
  if (!front.no_timeout && NowUs() - front.sent_us >= options_.timeout_ms * 1000) {
    Fail(FailureKind::kTimeout,
         "no reply within primary-timeout (" + std::to_string(options_.timeout_ms) + " ms)");
    return;
  }
  ArmTimer();
}

void UpstreamConnection::Fail(FailureKind kind, std::string detail) { Shut(&kind, detail); }

void UpstreamConnection::Close() { Shut(nullptr, ""); }

void UpstreamConnection::Shut(const FailureKind* failure, std::string_view detail) {
  if (closed_) return;
  auto self = shared_from_this();
  closed_ = true;
  timer_.cancel();
  resolver_.cancel();
  stream_->Close();
  // The link learns first, so that requests failed over below already see
  // the new state when they are answered locally.
  if (failure != nullptr && on_failure_) on_failure_(*this, *failure, detail);
  FailPending();
}

void UpstreamConnection::FailPending() {
  std::deque<Pending> failed;
  failed.swap(pending_);
  std::vector<std::shared_ptr<ReplyTarget>> targets;
  for (Pending& entry : failed) {
    if (!entry.target) continue;
    if (!entry.target->in_upstream_batch) {
      entry.target->in_upstream_batch = true;
      targets.push_back(entry.target);
    }
    entry.target->OnUpstreamFailed(entry.token);
  }
  if (tunnel_ && !tunnel_->in_upstream_batch) {
    tunnel_->in_upstream_batch = true;
    targets.push_back(tunnel_);
    tunnel_->OnUpstreamFailed(0);
  }
  for (auto& target : targets) {
    target->in_upstream_batch = false;
    target->OnUpstreamBatchEnd();
  }
  tunnel_.reset();
}

}  // namespace understudy::replication
