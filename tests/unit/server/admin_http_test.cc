// The admin port's HTTP handling: request heads (limits, malformed input,
// keep-alive), routing (404, 405), response bytes, and the server itself on
// a real loopback socket: /ready before and after clients are admitted,
// pipelined requests on one keep-alive connection.
#include "server/admin_http.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "server/server.h"

namespace understudy::server {
namespace {

using Status = HttpRequestParser::Status;

TEST(HttpRequestParser, SimpleGet) {
  HttpRequestParser parser;
  const std::string_view head = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  ASSERT_EQ(parser.Parse(head), Status::kDone);
  EXPECT_EQ(parser.request().method, "GET");
  EXPECT_EQ(parser.request().path, "/metrics");
  EXPECT_EQ(parser.request().minor_version, 1);
  EXPECT_TRUE(parser.request().keep_alive);
  EXPECT_FALSE(parser.request().has_body);
  EXPECT_EQ(parser.consumed(), head.size());
}

TEST(HttpRequestParser, NeedsTheWholeHead) {
  HttpRequestParser parser;
  EXPECT_EQ(parser.Parse(""), Status::kNeedMore);
  EXPECT_EQ(parser.Parse("GET /health HTTP/1.1\r\nHost: x\r\n"), Status::kNeedMore);
  EXPECT_EQ(parser.Parse("GET /health HTTP/1.1\r\nHost: x\r\n\r"), Status::kNeedMore);
}

TEST(HttpRequestParser, QueryStringAndBareLineFeeds) {
  HttpRequestParser parser;
  ASSERT_EQ(parser.Parse("GET /ready?verbose=1 HTTP/1.1\nHost: x\n\n"), Status::kDone);
  EXPECT_EQ(parser.request().target, "/ready?verbose=1");
  EXPECT_EQ(parser.request().path, "/ready");
}

TEST(HttpRequestParser, KeepAliveRules) {
  HttpRequestParser parser;
  ASSERT_EQ(parser.Parse("GET / HTTP/1.0\r\n\r\n"), Status::kDone);
  EXPECT_FALSE(parser.request().keep_alive);
  ASSERT_EQ(parser.Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), Status::kDone);
  EXPECT_TRUE(parser.request().keep_alive);
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n"), Status::kDone);
  EXPECT_FALSE(parser.request().keep_alive);
}

TEST(HttpRequestParser, PipelinedRequestsOneAtATime) {
  HttpRequestParser parser;
  const std::string first = "GET /health HTTP/1.1\r\n\r\n";
  const std::string both = first + "GET /ready HTTP/1.1\r\n\r\n";
  ASSERT_EQ(parser.Parse(both), Status::kDone);
  EXPECT_EQ(parser.request().path, "/health");
  EXPECT_EQ(parser.consumed(), first.size());
  ASSERT_EQ(parser.Parse(std::string_view(both).substr(first.size())), Status::kDone);
  EXPECT_EQ(parser.request().path, "/ready");
}

TEST(HttpRequestParser, MalformedHeadsAreRefused) {
  const std::pair<std::string_view, int> cases[] = {
      {"GET /\r\n\r\n", 400},                       // no version
      {"GET metrics HTTP/1.1\r\n\r\n", 400},        // not origin form
      {"GET / HTTX/1.1\r\n\r\n", 400},              // not HTTP
      {"GET / HTTP/1.10\r\n\r\n", 400},             // not one digit
      {"G(T / HTTP/1.1\r\n\r\n", 400},              // not a token
      {"GET / HTTP/2.0\r\n\r\n", 505},              // another major version
      {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},   // header without a colon
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},  // space before the colon
      {"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", 400},  // control byte in the target
  };
  for (const auto& [head, status] : cases) {
    HttpRequestParser parser;
    EXPECT_EQ(parser.Parse(head), Status::kError) << head;
    EXPECT_EQ(parser.error_status(), status) << head;
  }
}

TEST(HttpRequestParser, LimitsOnHeadSizeAndHeaderCount) {
  HttpRequestParser parser(/*max_head_bytes=*/64, /*max_headers=*/2);
  // No end of line within the limit, and more bytes than it.
  EXPECT_EQ(parser.Parse("GET /" + std::string(100, 'a')), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
  // Complete, but longer than the limit.
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nX-A: " + std::string(60, 'a') + "\r\n\r\n"),
            Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), Status::kError);
  EXPECT_EQ(parser.error_status(), 431);
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"), Status::kDone);
}

TEST(HttpRequestParser, BodiesAreNoticed) {
  HttpRequestParser parser;
  ASSERT_EQ(parser.Parse("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\n"), Status::kDone);
  EXPECT_TRUE(parser.request().has_body);
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\nContent-Length: 000\r\n\r\n"), Status::kDone);
  EXPECT_FALSE(parser.request().has_body);
  ASSERT_EQ(parser.Parse("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Status::kDone);
  EXPECT_TRUE(parser.request().has_body);
}

class FixedEndpoints : public AdminEndpoints {
 public:
  HttpResponse Health() override { return Body("health"); }
  HttpResponse Ready() override { return Body("ready"); }
  HttpResponse Metrics() override { return Body("metrics"); }

 private:
  static HttpResponse Body(std::string text) {
    HttpResponse response;
    response.body = std::move(text);
    return response;
  }
};

HttpRequest Request(std::string method, std::string path, bool keep_alive = true) {
  HttpRequest request;
  request.method = std::move(method);
  request.path = path;
  request.target = path;
  request.keep_alive = keep_alive;
  return request;
}

TEST(Respond, RoutesMethodsAndConnectionHandling) {
  FixedEndpoints endpoints;
  EXPECT_EQ(Respond(Request("GET", "/health"), endpoints).body, "health");
  EXPECT_EQ(Respond(Request("GET", "/ready"), endpoints).body, "ready");
  EXPECT_EQ(Respond(Request("HEAD", "/metrics"), endpoints).body, "metrics");
  const HttpResponse missing = Respond(Request("GET", "/nope"), endpoints);
  EXPECT_EQ(missing.status, 404);
  const HttpResponse post = Respond(Request("POST", "/metrics"), endpoints);
  EXPECT_EQ(post.status, 405);
  ASSERT_EQ(post.headers.size(), 1u);
  EXPECT_EQ(post.headers[0].first, "Allow");
  EXPECT_EQ(post.headers[0].second, "GET, HEAD");
  // Methods are case-sensitive.
  EXPECT_EQ(Respond(Request("get", "/health"), endpoints).status, 405);
  EXPECT_FALSE(Respond(Request("GET", "/health"), endpoints).close);
  EXPECT_TRUE(Respond(Request("GET", "/health", false), endpoints).close);
  HttpRequest with_body = Request("GET", "/health");
  with_body.has_body = true;
  EXPECT_TRUE(Respond(with_body, endpoints).close);
}

TEST(SerializeResponse, Bytes) {
  HttpResponse response;
  response.status = 405;
  response.body = "no\n";
  response.headers.emplace_back("Allow", "GET, HEAD");
  EXPECT_EQ(SerializeResponse(response, false),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nConnection: keep-alive\r\nAllow: GET, HEAD\r\n\r\nno\n");
  response.close = true;
  // HEAD: the same headers (Content-Length of the GET body), no body.
  EXPECT_EQ(SerializeResponse(response, true),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n");
  EXPECT_EQ(ErrorResponse(431).status, 431);
  EXPECT_TRUE(ErrorResponse(400).close);
}

// Sends `request` to the admin server on `port` and reads until the server
// closes, running `io` (which serves both ends) meanwhile.
std::string Exchange(boost::asio::io_context& io, unsigned short port, const std::string& request) {
  namespace asio = boost::asio;
  asio::ip::tcp::socket client(io);
  std::string received;
  std::array<char, 4096> chunk;
  bool done = false;
  std::function<void()> read_more = [&] {
    client.async_read_some(asio::buffer(chunk), [&](const boost::system::error_code& ec, size_t n) {
      received.append(chunk.data(), n);
      if (ec) {
        done = true;
        return;
      }
      read_more();
    });
  };
  client.async_connect({asio::ip::make_address("127.0.0.1"), port},
                       [&](const boost::system::error_code& ec) {
                         if (ec) {
                           done = true;
                           return;
                         }
                         asio::async_write(client, asio::buffer(request),
                                           [](const boost::system::error_code&, size_t) {});
                         read_more();
                       });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(done) << "no end of the exchange";
  return received;
}

TEST(AdminHttpServer, ServesOnLoopbackWithKeepAlive) {
  ManualClock clock(1'000'000);
  Config config;
  config.admin_port = 0;  // Listen() binds what the system chooses
  Server server(config, &clock);
  boost::asio::io_context io;
  AdminHttpServer admin(io, server);
  std::string error;
  ASSERT_TRUE(admin.Listen(&error)) << error;
  admin.Start();
  ASSERT_NE(admin.port(), 0);

  // Before clients are admitted: 503 with the JSON body.
  std::string reply =
      Exchange(io, admin.port(), "GET /ready HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << reply;
  EXPECT_NE(reply.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(reply.find("{\"ready\":false,"), std::string::npos);

  admin.set_ready(true);
  // Three pipelined requests on one connection; the last asks to close.
  reply = Exchange(io, admin.port(),
                   "GET /health HTTP/1.1\r\n\r\n"
                   "GET /ready HTTP/1.1\r\n\r\n"
                   "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_NE(reply.find("\r\n\r\nOK\nHTTP/1.1 200 OK\r\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("{\"ready\":true,"), std::string::npos);
  EXPECT_NE(reply.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(reply.find("\nunderstudy_ready 1\n"), std::string::npos);
  EXPECT_NE(reply.find("Connection: close\r\n"), std::string::npos);

  // Garbage: 400 and the connection closes (Exchange returns).
  reply = Exchange(io, admin.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 Bad Request\r\n")) << reply;
  admin.Stop();
}

}  // namespace
}  // namespace understudy::server
