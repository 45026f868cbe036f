#pragma once

#include <string>
#include <string_view>

namespace understudy {

// `text` as a double-quoted redis.conf string with C-style escapes (\n, \",
// \xHH...), the way redis-server writes strings into a rewritten config file
// and the way the config parser reads them back.
std::string QuoteConfigString(std::string_view text);

}  // namespace understudy
