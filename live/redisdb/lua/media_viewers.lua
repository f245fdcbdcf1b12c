-- media_viewers.lua: one process's WHEP viewer count of a room (for GET .../media).
-- KEYS[1] the room's media processes ({r:<room>}:media_procs): zset, member -> expiry ms
-- KEYS[2] the room's viewer counts ({r:<room>}:media_viewers): hash, member -> count
-- ARGV[1] the process ("<node_id>:<pid>")
-- ARGV[2] its viewer count of the room (0 removes it)
-- ARGV[3] now, ms
-- ARGV[4] lifetime of the count, ms (renewed by the process's heartbeat)
-- Counts of processes that stopped renewing (killed) are dropped here. Returns 1.
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, member in ipairs(lapsed) do
  redis.call('HDEL', KEYS[2], member)
end
if #lapsed > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
end
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
