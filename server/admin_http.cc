#include "server/admin_http.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>

#include "common/ascii.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/server.h"

namespace understudy::server {

namespace asio = boost::asio;

namespace {

// RFC 9110 tchar: the characters of a method or header name.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsTokenChar);
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// True when the comma-separated `list` holds `token` (case-insensitive).
bool ListHas(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

HttpRequestParser::Status HttpRequestParser::Parse(std::string_view data) {
  request_ = HttpRequest{};
  consumed_ = 0;
  error_status_ = 0;
  // Find the end of the head: an empty line.
  size_t pos = 0;
  size_t lines = 0;
  bool request_line_seen = false;
  while (true) {
    const size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) {
      return data.size() > max_head_bytes_ ? Fail(431) : Status::kNeedMore;
    }
    if (eol + 1 > max_head_bytes_) return Fail(431);
    std::string_view line = data.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (!request_line_seen) {
      // RFC 9112 2.2: empty lines before the request line are ignored.
      if (line.empty()) continue;
      if (Status status = ParseRequestLine(line); status != Status::kDone) return status;
      request_line_seen = true;
      continue;
    }
    if (line.empty()) break;
    if (++lines > max_headers_) return Fail(431);
    if (Status status = ParseHeader(line); status != Status::kDone) return status;
  }
  consumed_ = pos;
  return Status::kDone;
}

HttpRequestParser::Status HttpRequestParser::ParseRequestLine(std::string_view line) {
  const size_t first = line.find(' ');
  if (first == std::string_view::npos) return Fail(400);
  const size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return Fail(400);
  const std::string_view method = line.substr(0, first);
  const std::string_view target = line.substr(first + 1, second - first - 1);
  const std::string_view version = line.substr(second + 1);
  if (!IsToken(method)) return Fail(400);
  if (target.empty() || target.front() != '/') return Fail(400);
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Fail(400);
  }
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return Fail(400);
  }
  if (version[5] != '1') return Fail(505);
  request_.method.assign(method);
  request_.target.assign(target);
  request_.path.assign(target.substr(0, target.find('?')));
  request_.minor_version = version[7] - '0';
  request_.keep_alive = request_.minor_version >= 1;
  return Status::kDone;
}

HttpRequestParser::Status HttpRequestParser::ParseHeader(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(400);
  // No whitespace between the name and the colon (RFC 9112 5.1), and no
  // obsolete line folding.
  const std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return Fail(400);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsIgnoreCase(name, "connection")) {
    if (ListHas(value, "close")) request_.keep_alive = false;
    if (ListHas(value, "keep-alive") && request_.minor_version == 0) request_.keep_alive = true;
  } else if (EqualsIgnoreCase(name, "content-length")) {
    if (value.empty() ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(400);
    }
    if (value.find_first_not_of('0') != std::string_view::npos) request_.has_body = true;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    request_.has_body = true;
  }
  return Status::kDone;
}

std::string_view HttpReason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string SerializeResponse(const HttpResponse& response, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out += HttpReason(response.status);
  out += "\r\nContent-Type: " + response.content_type;
  out += "\r\nContent-Length: " + std::to_string(response.body.size());
  out += response.close ? "\r\nConnection: close" : "\r\nConnection: keep-alive";
  for (const auto& [name, value] : response.headers) out += "\r\n" + name + ": " + value;
  out += "\r\n\r\n";
  if (!head_only) out += response.body;
  return out;
}

HttpResponse ErrorResponse(int status) {
  HttpResponse response;
  response.status = status;
  response.body = std::string(HttpReason(status)) + "\n";
  response.close = true;
  return response;
}

HttpResponse Respond(const HttpRequest& request, AdminEndpoints& endpoints) {
  HttpResponse response;
  const bool known =
      request.path == "/health" || request.path == "/ready" || request.path == "/metrics";
  if (!known) {
    response.status = 404;
    response.body = "Not Found: try /metrics, /health or /ready\n";
  } else if (request.method != "GET" && request.method != "HEAD") {
    response.status = 405;
    response.body = "Method Not Allowed\n";
    response.headers.emplace_back("Allow", "GET, HEAD");
  } else if (request.path == "/health") {
    response = endpoints.Health();
  } else if (request.path == "/ready") {
    response = endpoints.Ready();
  } else {
    response = endpoints.Metrics();
  }
  response.close = response.close || !request.keep_alive || request.has_body;
  return response;
}

// One admin connection: reads request heads, answers each in order, and
// closes when asked, on an error, after a request with a body, or after
// kIdleTimeoutMs without a request.
class AdminHttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(AdminHttpServer& owner, asio::ip::tcp::socket socket)
      : owner_(owner), socket_(std::move(socket)), idle_timer_(owner.io_) {}

  void Start() {
    ArmIdleTimer();
    Read();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    idle_timer_.cancel();
    socket_.shutdown(asio::socket_base::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void ArmIdleTimer() {
    idle_timer_.expires_after(std::chrono::milliseconds(kIdleTimeoutMs));
    idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->Close();
    });
  }

  void Read() {
    if (closed_) return;
    socket_.async_read_some(
        asio::buffer(chunk_),
        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
          if (ec || self->closed_) {
            self->Close();
            return;
          }
          self->input_.append(self->chunk_.data(), n);
          self->ArmIdleTimer();
          self->Process();
        });
  }

  // Answers the next complete request in the input, or reads more.
  void Process() {
    if (closed_) return;
    const HttpRequestParser::Status status = parser_.Parse(input_);
    if (status == HttpRequestParser::Status::kNeedMore) {
      Read();
      return;
    }
    HttpResponse response;
    bool head_only = false;
    if (status == HttpRequestParser::Status::kError) {
      response = ErrorResponse(parser_.error_status());
    } else {
      const HttpRequest& request = parser_.request();
      head_only = request.method == "HEAD";
      response = Respond(request, owner_);
      input_.erase(0, parser_.consumed());
    }
    const bool close = response.close;
    output_ = SerializeResponse(response, head_only);
    asio::async_write(
        socket_, asio::buffer(output_),
        [self = shared_from_this(), close](const boost::system::error_code& ec, size_t) {
          if (ec || close) {
            self->Close();
            return;
          }
          self->Process();
        });
  }

  AdminHttpServer& owner_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer idle_timer_;
  HttpRequestParser parser_;
  std::array<char, 4096> chunk_;
  std::string input_;
  std::string output_;
  bool closed_ = false;
};

AdminHttpServer::AdminHttpServer(asio::io_context& io, Server& server)
    : io_(io), server_(server), acceptor_(io) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

bool AdminHttpServer::Listen(std::string* error) {
  const Config& config = server_.config();
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(config.admin_bind, ec);
  if (ec) {
    *error = "admin-bind: not an IP address: " + config.admin_bind;
    return false;
  }
  const asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(config.admin_port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "Could not open the admin HTTP port " + config.admin_bind + ":" +
             std::to_string(config.admin_port) + ": " + ec.message();
    return false;
  }
  spdlog::info("Admin HTTP port (/metrics, /health, /ready) on {}:{}", config.admin_bind, port());
  return true;
}

void AdminHttpServer::Start() { Accept(); }

unsigned short AdminHttpServer::port() const {
  boost::system::error_code ec;
  const auto endpoint = acceptor_.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void AdminHttpServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopping_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::erase_if(connections_, [](const std::weak_ptr<Connection>& c) { return c.expired(); });
      if (connections_.size() >= kMaxConnections) {
        // A scraper holds one or two; this many means something is wrong
        // with a client, not a reason to run out of descriptors.
        const std::string busy = SerializeResponse(ErrorResponse(503), false);
        boost::system::error_code ignored;
        asio::write(socket, asio::buffer(busy), ignored);
        socket.close(ignored);
      } else {
        auto connection = std::make_shared<Connection>(*this, std::move(socket));
        connections_.push_back(connection);
        connection->Start();
      }
    }
    Accept();
  });
}

void AdminHttpServer::Stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& weak : connections_) {
    if (auto connection = weak.lock()) connection->Close();
  }
  connections_.clear();
}

HttpResponse AdminHttpServer::Health() {
  HttpResponse response;
  response.body = "OK\n";
  return response;
}

HttpResponse AdminHttpServer::Ready() {
  HttpResponse response;
  response.status = ready_ ? 200 : 503;
  response.content_type = "application/json";
  response.body = ReadinessJson(server_, ready_) + "\n";
  return response;
}

HttpResponse AdminHttpServer::Metrics() {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = WriteMetrics(server_, ready_);
  return response;
}

}  // namespace understudy::server
