-- media_claim.lua: claim (or keep) the process that holds a room's media.
-- KEYS[1] the room's media owner ({r:<room>}:media_owner)
-- ARGV[1] this process's internal address (http://127.0.0.1:<port>)
-- ARGV[2] lifetime in ms (renewed by the owner's heartbeat)
-- Returns the owner's address after the call (ARGV[1] when this process holds the room).
-- Another process's claim is never taken over: it ends only when its lease expires.
local current = redis.call('GET', KEYS[1])
if (not current) or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return ARGV[1]
end
return current
