-- Sliding-window rate limiter with two fixed windows weighted by time, as
-- @upstash/ratelimit's slidingWindow writes it: the count of the previous
-- window is weighted by how much of it the sliding window still covers,
-- and a request is admitted when that estimate plus the current window's
-- count stays under the limit; only admitted requests are counted. The
-- caller names the window keys (prefix:id:<now / window>) and passes the
-- time. Counters only, so every key is of a counter class; KEYS[3] (the
-- admitted total) is an addition for the outage test.
--
-- KEYS[1] the current window's counter   (counter class)
-- KEYS[2] the previous window's counter  (counter class)
-- KEYS[3] admitted requests, all windows (counter class)
-- ARGV[1] the limit per window
-- ARGV[2] now, in milliseconds
-- ARGV[3] window length in milliseconds
-- Returns {1 admitted | 0 not, requests left (truncated)}.
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local requestsInCurrentWindow = tonumber(redis.call("GET", KEYS[1]) or "0")
local requestsInPreviousWindow = tonumber(redis.call("GET", KEYS[2]) or "0")
local percentageInCurrent = (now % window) / window
local estimate = requestsInPreviousWindow * (1 - percentageInCurrent) + requestsInCurrentWindow
if estimate >= limit then
  return { 0, 0 }
end
local newValue = redis.call("INCR", KEYS[1])
if newValue == 1 then
  -- The window's counter lives until the next window no longer needs it.
  redis.call("PEXPIRE", KEYS[1], window * 2 + 1000)
end
redis.call("INCR", KEYS[3])
return { 1, limit - (newValue + requestsInPreviousWindow * (1 - percentageInCurrent)) }
