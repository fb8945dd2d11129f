--[[
  Takes over a lock from a holder the caller found dead: compare-and-set, so the lock changes
  hands only if that same holder still has it (not if it was released or taken meanwhile).

  KEYS[1]  the lock key
  ARGV[1]  the holder seen (dead)
  ARGV[2]  the new owner
  ARGV[3]  TTL in ms

  Returns 1 taken over; 0 the holder is not ARGV[1] any more (nothing changed).
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
  return 1
end
return 0
