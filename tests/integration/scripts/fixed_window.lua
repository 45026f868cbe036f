-- Fixed-window rate limiter, as rate-limit-redis (the Redis store of
-- express-rate-limit) writes it: every hit INCRs the window's counter, the
-- first hit of a window (no TTL yet) sets the window with PEXPIRE, and the
-- caller admits the hit when the count it gets back is at most the limit.
-- One addition for the outage test: an admitted hit is also counted in
-- KEYS[2], so the total admitted is checkable on the primary afterwards.
--
-- KEYS[1] the window's hit counter      (counter class)
-- KEYS[2] admitted hits, all windows    (counter class)
-- ARGV[1] "1" to reset the window on every hit, else "0"
-- ARGV[2] window length in milliseconds
-- ARGV[3] the limit (hits admitted per window)
-- Returns {total hits in the window, ms until it resets, 1 admitted | 0 not}.
local totalHits = redis.call("INCR", KEYS[1])
local timeToExpire = redis.call("PTTL", KEYS[1])
if timeToExpire <= 0 or ARGV[1] == "1" then
  redis.call("PEXPIRE", KEYS[1], tonumber(ARGV[2]))
  timeToExpire = tonumber(ARGV[2])
end
local admitted = 0
if totalHits <= tonumber(ARGV[3]) then
  admitted = 1
  redis.call("INCR", KEYS[2])
end
return { totalHits, timeToExpire, admitted }
