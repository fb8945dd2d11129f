--[[
  Takes a collection lock if it is free; re-acquiring one's own lock extends it.

  KEYS[1]  the lock key; its value is the owner
  ARGV[1]  owner (host:pid:nonce)
  ARGV[2]  TTL in ms

  Returns 1 when ARGV[1] holds the lock now (taken, or already its own and extended);
          otherwise the current holder (a string), so the caller can judge it (a dead owner).
]]
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return 1
end
local holder = redis.call("GET", KEYS[1])
if holder == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
return holder
