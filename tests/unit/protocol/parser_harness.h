#pragma once

// A simulated client connection for RequestParser tests: bytes arrive in
// chunks, complete requests are collected as events, and between calls the
// unconsumed bytes are moved to a fresh allocation (and the old one
// overwritten) so that a parser that kept pointers into an earlier buffer, or
// that depended on the buffer's address, gives different results.

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/request_parser.h"

namespace understudy::protocol::testing {

struct ParseEvent {
  enum class Kind { kCommand, kEmpty, kError };
  Kind kind = Kind::kCommand;
  std::vector<std::string> args;  // kCommand
  std::string error;              // kError

  static ParseEvent Command(std::vector<std::string> args) {
    return {Kind::kCommand, std::move(args), {}};
  }
  static ParseEvent Empty() { return {Kind::kEmpty, {}, {}}; }
  static ParseEvent Error(std::string text) { return {Kind::kError, {}, std::move(text)}; }

  bool operator==(const ParseEvent&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const ParseEvent& event) {
  switch (event.kind) {
    case ParseEvent::Kind::kEmpty:
      return os << "<empty>";
    case ParseEvent::Kind::kError:
      return os << "<error " << ::testing::PrintToString(event.error) << ">";
    case ParseEvent::Kind::kCommand:
      return os << ::testing::PrintToString(event.args);
  }
  return os;
}

class SimulatedConnection {
 public:
  explicit SimulatedConnection(bool authenticated = true, ParserLimits limits = {})
      : parser_(limits), authenticated_(authenticated), pending_(std::make_unique<std::string>()) {}

  // Appends bytes as if read from the socket and parses what is complete.
  void Receive(std::string_view bytes) {
    if (failed_) return;
    pending_->append(bytes);
    Drain();
  }

  const std::vector<ParseEvent>& events() const { return events_; }
  size_t pending_bytes() const { return pending_->size(); }
  bool failed() const { return failed_; }
  RequestParser& parser() { return parser_; }

 private:
  void Drain() {
    size_t start = 0;
    while (start < pending_->size()) {
      std::string_view view(pending_->data() + start, pending_->size() - start);
      ParseStatus status = parser_.Parse(view, authenticated_);
      if (status == ParseStatus::kNeedMore) {
        // The parser must not claim bytes before it is done with a request.
        EXPECT_EQ(parser_.consumed(), 0u);
        break;
      }
      if (status == ParseStatus::kError) {
        events_.push_back(ParseEvent::Error(parser_.error()));
        failed_ = true;
        return;
      }
      EXPECT_GT(parser_.consumed(), 0u);
      EXPECT_LE(parser_.consumed(), view.size());
      if (status == ParseStatus::kEmpty) {
        EXPECT_TRUE(parser_.args().empty());
        events_.push_back(ParseEvent::Empty());
      } else {
        EXPECT_FALSE(parser_.args().empty());
        std::vector<std::string> args;
        for (std::string_view arg : parser_.args()) args.emplace_back(arg);
        if (view[0] == '*') ExpectArgsInside(view);
        events_.push_back(ParseEvent::Command(std::move(args)));
      }
      start += parser_.consumed();
    }
    // Move what is left to a new allocation while the old one still exists
    // (so the address surely changes), then scribble over the old bytes.
    auto moved = std::make_unique<std::string>(pending_->substr(start));
    pending_->assign(pending_->size(), '#');
    pending_ = std::move(moved);
  }

  // Multibulk arguments must be views of the bytes given to this very call.
  void ExpectArgsInside(std::string_view view) {
    for (std::string_view arg : parser_.args()) {
      if (arg.empty()) continue;
      EXPECT_GE(arg.data(), view.data());
      EXPECT_LE(arg.data() + arg.size(), view.data() + view.size());
    }
  }

  RequestParser parser_;
  bool authenticated_;
  std::unique_ptr<std::string> pending_;
  std::vector<ParseEvent> events_;
  bool failed_ = false;
};

// Feeds `stream` cut at the given ascending offsets; returns the events.
inline std::vector<ParseEvent> FeedWithCuts(std::string_view stream,
                                            const std::vector<size_t>& cuts,
                                            bool authenticated = true, ParserLimits limits = {}) {
  SimulatedConnection connection(authenticated, limits);
  size_t begin = 0;
  for (size_t cut : cuts) {
    connection.Receive(stream.substr(begin, cut - begin));
    begin = cut;
  }
  connection.Receive(stream.substr(begin));
  return connection.events();
}

inline std::vector<ParseEvent> FeedWhole(std::string_view stream, bool authenticated = true,
                                         ParserLimits limits = {}) {
  return FeedWithCuts(stream, {}, authenticated, limits);
}

inline std::vector<ParseEvent> FeedBytewise(std::string_view stream, bool authenticated = true) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  return FeedWithCuts(stream, cuts, authenticated);
}

// Random chunk sizes between 1 and max_chunk.
inline std::vector<ParseEvent> FeedRandomChunks(std::string_view stream, std::mt19937_64& rng,
                                                size_t max_chunk, bool authenticated = true,
                                                ParserLimits limits = {}) {
  std::vector<size_t> cuts;
  std::uniform_int_distribution<size_t> chunk(1, max_chunk);
  for (size_t at = chunk(rng); at < stream.size(); at += chunk(rng)) cuts.push_back(at);
  return FeedWithCuts(stream, cuts, authenticated, limits);
}

}  // namespace understudy::protocol::testing
