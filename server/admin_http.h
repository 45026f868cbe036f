#pragma once

// The admin HTTP port (`admin-port`, `admin-bind`): /health, /ready and
// /metrics for monitoring (docs/operations.md). A small HTTP/1.1 server on
// the daemon's own event loop, so a scrape reads the figures on the thread
// that owns them and needs no lock. It answers GET and HEAD only, with
// bounded request heads, keep-alive, and a cap on open connections; it is
// meant for a monitoring agent on a trusted network, loopback by default.

#include <boost/asio.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace understudy::server {

class Server;

// One request head, as HttpRequestParser found it.
struct HttpRequest {
  std::string method;  // as sent (methods are case-sensitive)
  std::string target;  // "/metrics?x=1"
  std::string path;    // "/metrics"
  int minor_version = 1;
  bool keep_alive = true;
  // A body follows (Content-Length > 0 or Transfer-Encoding): the server
  // does not read bodies, so it answers and then closes the connection.
  bool has_body = false;
};

// Reads request heads from the bytes a connection has received. Rules:
// request line "METHOD SP target SP HTTP/1.x" (the target in origin form),
// header lines "name: value", lines ending in CRLF (a bare LF is accepted,
// as most servers do), the head ending with an empty line. A head longer
// than `max_head_bytes` is refused with 431 and more than `max_headers`
// header lines with 431 as well; anything malformed with 400, another HTTP
// major version with 505.
class HttpRequestParser {
 public:
  enum class Status { kNeedMore, kDone, kError };

  explicit HttpRequestParser(size_t max_head_bytes = 8192, size_t max_headers = 64)
      : max_head_bytes_(max_head_bytes), max_headers_(max_headers) {}

  // Parses the head at the start of `data`. kDone: request() holds it and
  // consumed() is its length (the next request starts there). kError:
  // error_status() is the HTTP status to answer before closing.
  Status Parse(std::string_view data);
  const HttpRequest& request() const { return request_; }
  size_t consumed() const { return consumed_; }
  int error_status() const { return error_status_; }

 private:
  Status Fail(int status) {
    error_status_ = status;
    return Status::kError;
  }
  Status ParseRequestLine(std::string_view line);
  Status ParseHeader(std::string_view line);

  size_t max_head_bytes_;
  size_t max_headers_;
  HttpRequest request_;
  size_t consumed_ = 0;
  int error_status_ = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (Allow)
  bool close = false;  // the connection closes after this response
};

// The reason phrase for the statuses the admin port uses.
std::string_view HttpReason(int status);
// Status line, headers (Content-Type, Content-Length, Connection, extra
// ones) and, unless `head_only`, the body.
std::string SerializeResponse(const HttpResponse& response, bool head_only);

// What the three endpoints answer; the admin server fills it from the
// daemon, tests with fixed bodies.
class AdminEndpoints {
 public:
  virtual ~AdminEndpoints() = default;
  virtual HttpResponse Health() = 0;
  virtual HttpResponse Ready() = 0;
  virtual HttpResponse Metrics() = 0;
};

// The response to `request`: the endpoint's answer for GET or HEAD of
// /health, /ready or /metrics (a query string is ignored), 405 with an
// Allow header for another method there, 404 for any other path. Sets
// `close` when the request asked for it or carried a body.
HttpResponse Respond(const HttpRequest& request, AdminEndpoints& endpoints);
// The response for a request the parser refused (`status` 400, 431, 505).
HttpResponse ErrorResponse(int status);

class AdminHttpServer : private AdminEndpoints {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr int kIdleTimeoutMs = 60'000;

  AdminHttpServer(boost::asio::io_context& io, Server& server);
  ~AdminHttpServer() override;

  // Opens the admin-bind:admin-port listener. False (with *error) when it
  // cannot be opened.
  bool Listen(std::string* error);
  // Starts accepting; returns at once.
  void Start();
  // Stops accepting and closes every connection.
  void Stop();
  // Whether clients are admitted: /ready answers 200 from then on, 503
  // before (while the local store is restored and the first probe of the
  // primary has not answered).
  void set_ready(bool ready) { ready_ = ready; }
  bool ready() const { return ready_; }
  // The port listened on (admin-port, or the one the system chose for 0).
  unsigned short port() const;

 private:
  class Connection;
  void Accept();
  HttpResponse Health() override;
  HttpResponse Ready() override;
  HttpResponse Metrics() override;

  boost::asio::io_context& io_;
  Server& server_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::weak_ptr<Connection>> connections_;
  bool ready_ = false;
  bool stopping_ = false;
};

}  // namespace understudy::server
