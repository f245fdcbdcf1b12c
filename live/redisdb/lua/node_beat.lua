-- node_beat.lua: one process's heartbeat in the node registry; sweeps out the dead.
-- KEYS[1] the registry's processes ({<prefix>:nodes}:procs): hash, member -> JSON
-- KEYS[2] when each was last seen ({<prefix>:nodes}:seen): zset, member -> Redis ms
-- ARGV[1] this process ("<node id>:<pid>")
-- ARGV[2] its entry (JSON: node, pid, url, address, rooms, origins, viewers)
-- ARGV[3] how long a process may stay silent before it counts as dead, ms
-- ARGV[4] most processes the registry holds (a new one past it is refused)
-- ARGV[5] most dead processes handed back per call
-- Returns {known, dead entry JSON, ...}: known 1 when this process was still registered,
-- 0 when it is new (or was swept out as dead: it must reassert what it holds), -1 when
-- refused. Each dead process is handed back to exactly one caller, which releases what
-- it held. Redis's clock decides.
local now = now_ms()
local member = ARGV[1]
local stale = tonumber(ARGV[3])
local known = redis.call('ZSCORE', KEYS[2], member) and 1 or 0
if known == 0 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  return {-1}
end
local out = {known}
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - stale, 'LIMIT', 0,
  tonumber(ARGV[5]))
for _, gone in ipairs(dead) do
  if gone ~= member then
    local entry = redis.call('HGET', KEYS[1], gone)
    if entry then
      out[#out + 1] = entry
    end
    redis.call('ZREM', KEYS[2], gone)
    redis.call('HDEL', KEYS[1], gone)
  end
end
redis.call('ZADD', KEYS[2], now, member)
redis.call('HSET', KEYS[1], member, ARGV[2])
return out
