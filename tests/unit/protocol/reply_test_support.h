#pragma once

// Shared by the reply parser tests: parse a whole reply (expecting it
// complete), and build the values to compare with.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "protocol/reply_parser.h"

namespace understudy::protocol::reply_test {

// Parses `bytes`, which must hold exactly one complete reply.
inline ReplyValue Parse(std::string_view bytes) {
  ReplyValue value;
  size_t consumed = 0;
  std::string error;
  EXPECT_EQ(ParseReply(bytes, &value, &consumed, &error), ScanStatus::kComplete)
      << ::testing::PrintToString(std::string(bytes)) << " error: " << error;
  EXPECT_EQ(consumed, bytes.size());
  return value;
}

// A reply of `type` carrying text (simple string, error, bulk...).
inline ReplyValue Str(char type, std::string text) {
  ReplyValue value;
  value.type = type;
  value.str = std::move(text);
  return value;
}

}  // namespace understudy::protocol::reply_test
