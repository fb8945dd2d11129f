--[[
  Counts one request against a sliding-window rate limit, atomically.

  KEYS[1]  the limit's sorted set: one member per counted request, scored by its time in ms
  ARGV[1]  limit: requests allowed in any window
  ARGV[2]  window in ms; also the key's TTL, renewed on every counted request
  ARGV[3]  a member unique to this request

  Returns {allowed, remaining, retryAfterMs}
    allowed       1 counted and allowed; 0 refused (and not counted)
    remaining     requests still allowed in the window after this one
    retryAfterMs  when refused: ms until the oldest counted request leaves the window; else 0

  Time is the server's (TIME), so every process sharing the limit agrees on it whatever its
  own clock says. The window is (now - window, now].
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call("TIME")
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

redis.call("ZREMRANGEBYSCORE", key, "-inf", now - window)
local count = redis.call("ZCARD", key)
if count < limit then
  redis.call("ZADD", key, now, ARGV[3])
  redis.call("PEXPIRE", key, window)
  return {1, limit - count - 1, 0}
end

local oldest = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
local retry = tonumber(oldest[2]) + window - now
if retry < 1 then retry = 1 end
return {0, 0, retry}
