--[[
  Extends a lock its owner holds: compare-and-pexpire.

  KEYS[1]  the lock key
  ARGV[1]  owner
  ARGV[2]  TTL in ms, from now

  Returns 1 extended; 0 ARGV[1] does not hold the lock (it lapsed or changed hands).
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
