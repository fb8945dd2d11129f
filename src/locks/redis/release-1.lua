--[[
  Frees a lock its owner holds: compare-and-delete.

  KEYS[1]  the lock key
  ARGV[1]  owner

  Returns 1 freed; 0 ARGV[1] does not hold the lock (nothing changed).
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
