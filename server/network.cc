#include "server/network.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protocol/request_parser.h"
#include "server/blocking.h"
#include "server/proxy.h"

namespace understudy::server {

namespace asio = boost::asio;
using GenericSocket = asio::generic::stream_protocol::socket;

namespace {

constexpr size_t kReadChunk = 16 * 1024;  // as Redis's PROTO_IOBUF_LEN

std::string EndpointText(const GenericSocket::endpoint_type& endpoint, bool is_unix) {
  if (is_unix) return "";
  const sockaddr* sa = endpoint.data();
  char host[64] = {0};
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

// One client connection: reads requests, runs them in order, writes replies
// in order. Reading pauses while the client has more than the soft limit of
// unwritten replies, so a client that pipelines without reading cannot make
// the server buffer without bound.
class Network::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Network& network, GenericSocket socket, ClientSession& session)
      : network_(network),
        server_(network.server()),
        socket_(std::move(socket)),
        session_(&session),
        parser_(LimitsFrom(server_.config())) {}

  void Start() {
    // Reads are plain recv() calls on readiness (OnReadable), so no pending
    // read holds the connection alive: it holds itself until Close().
    self_ = shared_from_this();
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    std::weak_ptr<Connection> weak = weak_from_this();
    // Deferred: the request may come from a command this very connection
    // is running (CLIENT KILL of itself), so close only once it returns.
    session_->request_close = [weak, &io = network_.io()] {
      asio::post(io, [weak] {
        if (auto self = weak.lock()) self->CloseAfterReplies();
      });
    };
    session_->notify_output = [weak, &io = network_.io()] {
      asio::post(io, [weak] {
        if (auto self = weak.lock()) self->Resume();
      });
    };
    session_->close_now = [weak, &io = network_.io()] {
      asio::post(io, [weak] {
        if (auto self = weak.lock()) self->Close();
      });
    };
    if (network_.proxy_ != nullptr) {
      // Called when replies from the primary are ready, never from inside
      // this connection's own ProcessInput.
      proxy_client_ = std::make_shared<ProxyClient>(*network_.proxy_, *session_, [weak] {
        if (auto self = weak.lock()) self->Resume();
      });
    }
    ReadMore();
  }

  // Closes at once, dropping unwritten replies.
  void Close() {
    if (closed_) return;
    closed_ = true;
    if (read_registered_) network_.ForgetReadInterest(socket_.native_handle());
    read_registered_ = read_watched_ = false;
    boost::system::error_code ignored;
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
    network_.connections_.erase(session_->id());
    if (proxy_client_) {
      proxy_client_->Detach();
      proxy_client_.reset();
    }
    server_.RemoveClient(*session_);
    session_ = nullptr;
    // Every caller holds its own reference, so this is not the last one.
    self_.reset();
  }

  // Output was added from outside, or the client was unblocked: write it
  // out and carry on with any requests that were waiting.
  void Resume() {
    if (closed_) return;
    if (!session_->blocked) {
      ProcessInput();
      if (closed_) return;
    }
    Flush();
    ReadMore();
  }

  void CloseAfterReplies() {
    if (closed_) return;
    session_->close_after_reply = true;
    if (!writing_ && session_->reply.empty()) {
      Close();
    } else {
      Flush();
    }
  }

  // Shutdown (Network::Drain): reads no more requests; closes once the
  // replies to those already running are out, the primary's included
  // (Flush closes when nothing is due). A blocked client closes at once.
  void Drain() {
    if (closed_) return;
    session_->close_after_reply = true;
    WatchReadable(false);
    if (!closed_) Flush();
  }

 private:
  static protocol::ParserLimits LimitsFrom(const Config& config) {
    protocol::ParserLimits limits;
    limits.max_bulk_len = config.proto_max_bulk_len;
    return limits;
  }

  // Asks to be told when the client has sent more (Network::OnReadable),
  // unless this connection should not read now.
  void ReadMore() {
    if (closed_) return;
    if (paused_ || session_->close_after_reply) {
      WatchReadable(false);
      return;
    }
    WatchReadable(true);
  }

  // Adds the socket to, or takes it out of, the network's readiness set.
  void WatchReadable(bool on) {
    if (on == read_watched_) return;
    if (!network_.SetReadInterest(socket_.native_handle(), session_->id(), on, read_registered_)) {
      spdlog::warn("closing client id={}: cannot watch its socket: {}", session_->id(),
                   std::strerror(errno));
      Close();
      return;
    }
    read_registered_ = true;
    read_watched_ = on;
  }

 public:
  // The socket has bytes (or an end) to read: one recv, then the requests.
  // Readiness comes from the network's level-triggered poll set rather than
  // from a speculative read, which would cost an extra recv (EAGAIN) after
  // every batch.
  // While another client's script is busy (Server::ServeWhileBusy): reads
  // what this client sent, runs it (Execute answers -BUSY to most commands)
  // and sends the replies with plain non-blocking writes, since no asio
  // handler can run until the script returns. A connection with an asio
  // write in flight is left alone, so its replies stay in order.
  void ServeWhileBusy() {
    if (closed_ || writing_ || !read_watched_ || paused_ || session_->close_after_reply) return;
    if (end_ - start_ < kReadChunk) MakeRoom(kReadChunk);
    ssize_t n = ::recv(socket_.native_handle(), buffer_.get() + end_, capacity_ - end_, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      Close();
      return;
    }
    if (n < 0) return;
    end_ += static_cast<size_t>(n);
    server_.stats().total_net_input_bytes += static_cast<size_t>(n);
    ProcessInput();
    if (closed_) return;
    std::string& reply = session_->reply;
    size_t sent = 0;
    while (sent < reply.size()) {
      ssize_t written = ::send(socket_.native_handle(), reply.data() + sent, reply.size() - sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (written <= 0) break;
      sent += static_cast<size_t>(written);
    }
    server_.stats().total_net_output_bytes += sent;
    reply.erase(0, sent);
    // What did not fit goes out once the event loop runs again.
    if (!reply.empty() || session_->close_after_reply) session_->notify_output();
  }

  void OnReadable() {
    if (closed_ || !read_watched_) return;
    if (paused_ || session_->close_after_reply) {
      WatchReadable(false);
      return;
    }
    size_t wanted = parser_.bytes_wanted();
    size_t free_space = capacity_ - end_;
    size_t needed = kReadChunk;
    // A large bulk in progress: make room for all of it, so it arrives in
    // as few reads as possible and is never copied piecemeal.
    if (wanted > end_ - start_) needed = std::max(needed, wanted - (end_ - start_));
    if (free_space < needed) MakeRoom(needed);
    ssize_t n = ::recv(socket_.native_handle(), buffer_.get() + end_, capacity_ - end_, 0);
    if (n > 0) {
      OnRead({}, static_cast<size_t>(n));
    } else if (n == 0) {
      OnRead(asio::error::eof, 0);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      OnRead(boost::system::error_code(errno, boost::system::system_category()), 0);
    }
  }

 private:
  void MakeRoom(size_t needed) {
    size_t pending = end_ - start_;
    if (start_ > 0 && capacity_ - pending >= needed) {
      std::memmove(buffer_.get(), buffer_.get() + start_, pending);
    } else {
      size_t capacity = std::max(capacity_ * 2, pending + needed);
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      if (pending > 0) std::memcpy(bigger.get(), buffer_.get() + start_, pending);
      buffer_ = std::move(bigger);
      capacity_ = capacity;
    }
    start_ = 0;
    end_ = pending;
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    if (closed_) return;
    if (ec) {
      Close();
      return;
    }
    end_ += n;
    server_.stats().total_net_input_bytes += n;
    ProcessInput();
    if (closed_) return;
    Flush();
    ReadMore();
  }

  // Parses and runs every complete request in the buffer, stopping early
  // when the client's unwritten output passes the soft limit.
  void ProcessInput() {
    // CONFIG SET may have changed the limits since the last batch.
    parser_.set_limits(LimitsFrom(server_.config()));
    const size_t soft_limit = static_cast<size_t>(server_.config().client_output_soft_limit);
    // One clock read per batch: a pipeline's requests arrive together.
    if (start_ < end_) session_->last_active_ms = server_.clock().NowMs();
    while (start_ < end_ && !session_->close_after_reply && !session_->blocked) {
      if (session_->reply.size() + in_flight_ > soft_limit) {
        paused_ = true;
        break;
      }
      std::string_view pending(buffer_.get() + start_, end_ - start_);
      protocol::ParseStatus status = parser_.Parse(pending, session_->authenticated);
      if (status == protocol::ParseStatus::kNeedMore) break;
      if (status == protocol::ParseStatus::kError) {
        spdlog::debug("protocol error from client id={}: {}", session_->id(), parser_.error());
        if (proxy_client_) {
          // Behind the replies still due from the primary.
          proxy_client_->QueueError(parser_.error());
        } else {
          session_->writer().Error(parser_.error());
        }
        session_->close_after_reply = true;
        start_ = end_;
        break;
      }
      if (status == protocol::ParseStatus::kCommand) {
        if (proxy_client_) {
          std::string_view raw =
              pending[0] == '*' ? pending.substr(0, parser_.consumed()) : std::string_view();
          if (!proxy_client_->Handle(parser_.args(), raw)) {
            // Waits for earlier replies; offered again on Resume.
            break;
          }
        } else {
          server_.Execute(*session_, parser_.args());
        }
        if (server_.shutdown_requested()) {
          network_.OnShutdownRequested();
          return;
        }
      }
      start_ += parser_.consumed();
    }
    if (start_ == end_) start_ = end_ = 0;
    session_->query_buffer_size = end_ - start_;
    if (end_ - start_ > static_cast<size_t>(server_.config().client_query_buffer_limit)) {
      spdlog::warn("closing client id={} addr={}: query buffer over client-query-buffer-limit",
                   session_->id(), session_->peer_address);
      Close();
    }
  }

  void Flush() {
    // Journaled writes reach the file before their replies leave.
    server_.FlushJournal();
    if (closed_ || writing_) return;
    if (session_->reply.empty()) {
      // QUIT or a protocol error: close once every reply is out, including
      // those still due from the primary (they come through Resume).
      if (session_->close_after_reply && !(proxy_client_ && proxy_client_->pending_slots() > 0)) {
        Close();
      }
      return;
    }
    writing_ = true;
    out_.swap(session_->reply);
    in_flight_ = out_.size();
    session_->output_in_flight = in_flight_;
    auto self = shared_from_this();
    asio::async_write(
        socket_, asio::buffer(out_),
        [self](const boost::system::error_code& ec, size_t n) { self->OnWritten(ec, n); });
  }

  void OnWritten(const boost::system::error_code& ec, size_t n) {
    writing_ = false;
    if (closed_) return;
    server_.stats().total_net_output_bytes += n;
    out_.clear();
    // Give big buffers back rather than keep them per idle client.
    if (out_.capacity() > 1024 * 1024) std::string().swap(out_);
    in_flight_ = 0;
    session_->output_in_flight = 0;
    if (ec) {
      Close();
      return;
    }
    if (paused_) {
      paused_ = false;
      ProcessInput();
      if (closed_) return;
    }
    Flush();
    ReadMore();
  }

  Network& network_;
  Server& server_;
  GenericSocket socket_;
  ClientSession* session_;
  std::shared_ptr<ProxyClient> proxy_client_;  // with a primary configured
  protocol::RequestParser parser_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t start_ = 0;  // first unparsed byte
  size_t end_ = 0;    // one past the last received byte
  std::string out_;   // bytes being written
  size_t in_flight_ = 0;
  std::shared_ptr<Connection> self_;  // set from Start() to Close()
  bool read_registered_ = false;      // in the network's poll set (maybe with no interest)
  bool read_watched_ = false;         // ... and waiting for readability
  bool writing_ = false;
  bool paused_ = false;
  bool closed_ = false;
};

Network::Network(asio::io_context& io, Server& server)
    : io_(io),
      server_(server),
      cron_timer_(io),
      block_timer_(io),
      signals_(io, SIGINT, SIGTERM),
      drain_timer_(io),
      read_poll_(io) {
  int poll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (poll_fd < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  read_poll_.assign(poll_fd);
}

Network::~Network() {
  server_.blocking().set_deadline_listener(nullptr);
  server_.set_busy_handler(nullptr);
}

void Network::ServeWhileBusy(uint64_t running_client) {
  if (stopping_) return;
  // New connections too, so that a fresh redis-cli can send SCRIPT KILL.
  for (auto& acceptor : tcp_acceptors_) {
    boost::system::error_code ec;
    acceptor->non_blocking(true, ec);
    while (!ec) {
      asio::ip::tcp::socket socket(io_);
      acceptor->accept(socket, ec);
      if (ec) break;
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      Admit(GenericSocket(std::move(socket)), false);
    }
  }
  if (unix_acceptor_) {
    boost::system::error_code ec;
    unix_acceptor_->non_blocking(true, ec);
    while (!ec) {
      asio::local::stream_protocol::socket socket(io_);
      unix_acceptor_->accept(socket, ec);
      if (!ec) Admit(GenericSocket(std::move(socket)), true);
    }
  }
  epoll_event events[256];
  int count = ::epoll_wait(read_poll_.native_handle(), events, 256, 0);
  for (int i = 0; i < count; ++i) {
    // The script's own client is not read until its script returns.
    if (events[i].data.u64 == running_client) continue;
    auto it = connections_.find(events[i].data.u64);
    if (it == connections_.end()) continue;
    if (auto connection = it->second.lock()) connection->ServeWhileBusy();
  }
}

bool Network::SetReadInterest(int fd, uint64_t client_id, bool readable, bool registered) {
  epoll_event event{};
  event.events = readable ? static_cast<uint32_t>(EPOLLIN) : 0u;
  event.data.u64 = client_id;
  return ::epoll_ctl(read_poll_.native_handle(), registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                     &event) == 0;
}

void Network::ForgetReadInterest(int fd) {
  ::epoll_ctl(read_poll_.native_handle(), EPOLL_CTL_DEL, fd, nullptr);
}

void Network::WaitReadable() {
  read_poll_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                          if (ec || stopping_) return;
                          OnReadable();
                        });
}

void Network::OnReadable() {
  // Level-triggered: a client not read from now is reported again on the
  // next call, so at most a batch's worth is taken per turn of the loop.
  epoll_event events[256];
  int count = ::epoll_wait(read_poll_.native_handle(), events, 256, 0);
  for (int i = 0; i < count; ++i) {
    auto it = connections_.find(events[i].data.u64);
    if (it == connections_.end()) continue;
    if (auto connection = it->second.lock()) connection->OnReadable();
  }
  WaitReadable();
}

bool Network::Listen(std::string* error) {
  const Config& config = server_.config();
  try {
    if (config.port != 0) {
      for (const std::string& address : config.bind) {
        std::string host = address;
        if (!host.empty() && host[0] == '-') host.erase(0, 1);  // "-::1": optional
        asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host),
                                         static_cast<unsigned short>(config.port));
        auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(io_);
        acceptor->open(endpoint.protocol());
        acceptor->set_option(asio::socket_base::reuse_address(true));
        if (endpoint.protocol() == asio::ip::tcp::v6()) {
          acceptor->set_option(asio::ip::v6_only(true));
        }
        boost::system::error_code ec;
        acceptor->bind(endpoint, ec);
        if (ec) {
          if (address[0] == '-') continue;
          *error = "Could not create server TCP listening socket " + host + ":" +
                   std::to_string(config.port) + ": " + ec.message();
          return false;
        }
        acceptor->listen(config.tcp_backlog);
        tcp_acceptors_.push_back(std::move(acceptor));
        spdlog::info("Ready to accept connections tcp {}:{}", host, config.port);
      }
    }
    if (!config.unixsocket.empty()) {
      ::unlink(config.unixsocket.c_str());
      unix_acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(
          io_, asio::local::stream_protocol::endpoint(config.unixsocket));
      if (config.unixsocketperm != 0) ::chmod(config.unixsocket.c_str(), config.unixsocketperm);
      spdlog::info("Ready to accept connections unix {}", config.unixsocket);
    }
  } catch (const std::exception& e) {
    *error = std::string("Could not create listening socket: ") + e.what();
    return false;
  }
  if (tcp_acceptors_.empty() && unix_acceptor_ == nullptr) {
    *error = "no listening socket configured (port 0 and no unixsocket)";
    return false;
  }
  return true;
}

void Network::Start() {
  server_.set_busy_handler([this](uint64_t running_client) { ServeWhileBusy(running_client); });
  WaitReadable();
  for (size_t i = 0; i < tcp_acceptors_.size(); ++i) AcceptTcp(i);
  if (unix_acceptor_) AcceptUnix();
  ScheduleCron();
  server_.blocking().set_deadline_listener(
      [this](int64_t deadline_ms) { ArmBlockTimer(deadline_ms); });
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("Received {}, shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    Drain();
  });
}

void Network::AcceptTcp(size_t index) {
  tcp_acceptors_[index]->async_accept(
      [this, index](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
        if (stopping_) return;
        if (!ec) {
          boost::system::error_code ignored;
          socket.set_option(asio::ip::tcp::no_delay(true), ignored);
          if (server_.config().tcp_keepalive > 0) {
            socket.set_option(asio::socket_base::keep_alive(true), ignored);
          }
          Admit(GenericSocket(std::move(socket)), false);
        } else if (ec == asio::error::no_descriptors) {
          spdlog::warn("accept: out of file descriptors");
        }
        AcceptTcp(index);
      });
}

void Network::AcceptUnix() {
  unix_acceptor_->async_accept(
      [this](const boost::system::error_code& ec, asio::local::stream_protocol::socket socket) {
        if (stopping_) return;
        if (!ec) Admit(GenericSocket(std::move(socket)), true);
        AcceptUnix();
      });
}

void Network::Admit(GenericSocket socket, bool is_unix) {
  if (static_cast<int64_t>(server_.clients().size()) >= server_.config().maxclients) {
    static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(kFull.data(), kFull.size()), ignored);
    socket.close(ignored);
    ++server_.stats().rejected_connections;
    return;
  }
  ClientSession& session = server_.AddClient();
  boost::system::error_code ec;
  session.fd = socket.native_handle();
  session.is_unix_socket = is_unix;
  if (is_unix) {
    session.peer_address = server_.config().unixsocket + ":0";
    session.local_address = server_.config().unixsocket + ":0";
  } else {
    session.peer_address = EndpointText(socket.remote_endpoint(ec), false);
    session.local_address = EndpointText(socket.local_endpoint(ec), false);
  }
  auto connection = std::make_shared<Connection>(*this, std::move(socket), session);
  connections_.emplace(session.id(), connection);
  connection->Start();
}

void Network::ScheduleCron() {
  int hz = std::clamp(server_.config().hz, 1, 500);
  cron_timer_.expires_after(std::chrono::milliseconds(1000 / hz));
  cron_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    server_.Cron();
    CloseIdleClients();
    if (server_.shutdown_requested()) {
      Stop();
      return;
    }
    ScheduleCron();
  });
}

void Network::ArmBlockTimer(int64_t deadline_ms) {
  if (stopping_) return;
  if (block_timer_deadline_ != 0 && block_timer_deadline_ <= deadline_ms) return;
  block_timer_deadline_ = deadline_ms;
  // Deadlines are wall-clock ms; the wait is measured on the steady clock.
  // Firing early only means looking again, so clock steps are harmless.
  const int64_t wait_ms = std::max<int64_t>(0, deadline_ms - server_.clock().NowMs());
  block_timer_.expires_after(std::chrono::milliseconds(wait_ms));
  block_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    OnBlockTimer();
  });
}

void Network::OnBlockTimer() {
  block_timer_deadline_ = 0;
  server_.blocking().ExpireTimedOut(server_.clock().NowMs());
  if (std::optional<int64_t> next = server_.blocking().NextDeadline()) ArmBlockTimer(*next);
}

void Network::CloseIdleClients() {
  int timeout = server_.config().timeout;
  if (timeout <= 0) return;
  int64_t now_ms = server_.clock().NowMs();
  std::vector<uint64_t> idle;
  for (const auto& [id, session] : server_.clients()) {
    if (session->blocked) continue;        // waiting in a blocking command, as in Redis
    if (session->pubsub_mode()) continue;  // subscribers may listen quietly, as in Redis
    if (now_ms - session->last_active_ms > int64_t{timeout} * 1000) idle.push_back(id);
  }
  for (uint64_t id : idle) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    if (auto connection = it->second.lock()) connection->Close();
  }
}

void Network::OnShutdownRequested() {
  // Let the current handler unwind before tearing connections down.
  asio::post(io_, [this] { Stop(); });
}

// --- Graceful shutdown (docs/operations.md, "Shutdown") ----------------------

void Network::Drain() {
  if (stopping_ || draining_) return;
  draining_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : tcp_acceptors_) acceptor->close(ignored);
  if (unix_acceptor_) unix_acceptor_->close(ignored);
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  for (auto& connection : open) connection->Drain();
  const int64_t timeout_ms = int64_t{server_.config().shutdown_timeout} * 1000;
  WaitDrained(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
}

void Network::WaitDrained(std::chrono::steady_clock::time_point deadline) {
  if (stopping_) return;
  if (connections_.empty() || std::chrono::steady_clock::now() >= deadline) {
    if (!connections_.empty()) {
      spdlog::warn("shutdown: closing {} connections still waiting for replies after {} s",
                   connections_.size(), server_.config().shutdown_timeout);
    }
    Stop();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(10));
  drain_timer_.async_wait([this, deadline](const boost::system::error_code& ec) {
    if (!ec) WaitDrained(deadline);
  });
}

void Network::Stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  for (auto& acceptor : tcp_acceptors_) acceptor->close(ignored);
  if (unix_acceptor_) {
    unix_acceptor_->close(ignored);
    ::unlink(server_.config().unixsocket.c_str());
  }
  cron_timer_.cancel();
  block_timer_.cancel();
  drain_timer_.cancel();
  signals_.cancel();
  boost::system::error_code ignored_error;
  read_poll_.cancel(ignored_error);
  std::vector<std::shared_ptr<Connection>> open;
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) open.push_back(std::move(connection));
  }
  for (auto& connection : open) connection->Close();
  io_.stop();
}

}  // namespace understudy::server
