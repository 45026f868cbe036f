-- GCRA (generic cell rate algorithm) rate limiter, as redis-cell's
-- CL.THROTTLE and go-redis/redis_rate compute it: the key holds the
-- theoretical arrival time (TAT, ms) of the next request; a request is
-- admitted when TAT - now is within the burst tolerance, and then moves
-- the TAT one emission interval later. The key expires once its TAT has
-- passed (an idle limiter is a full one). The TAT is a timestamp, not a
-- count: its key is of an lww class; KEYS[2] counts admissions in a
-- counter class so that the total admitted is checkable.
--
-- KEYS[1] the TAT                        (lww class, mirrored)
-- KEYS[2] admitted requests              (counter class)
-- ARGV[1] now, in milliseconds
-- ARGV[2] emission interval T in ms (period / rate)
-- ARGV[3] burst: requests admitted at once from idle (>= 1)
-- Returns {1 admitted | 0 not, ms to wait before the next admission}.
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tolerance = interval * (burst - 1)
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
if tat < now then
  tat = now
end
if tat - now > tolerance then
  return { 0, tat - now - tolerance }
end
local newTat = tat + interval
redis.call("SET", KEYS[1], string.format("%d", newTat), "PX", newTat - now)
redis.call("INCR", KEYS[2])
return { 1, 0 }
