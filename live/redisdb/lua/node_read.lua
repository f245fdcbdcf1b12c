-- node_read.lua: the live processes of the node registry, and the nodes being drained.
-- KEYS[1] the registry's processes ({<prefix>:nodes}:procs): hash, member -> JSON
-- KEYS[2] when each was last seen ({<prefix>:nodes}:seen): zset, member -> Redis ms
-- KEYS[3] the nodes being drained ({<prefix>:nodes}:draining): set of node ids
-- ARGV[1] how long a process may stay silent before it counts as dead, ms
-- Returns {draining node ids, {entry JSON, last seen ms, ...}} (the silent left out; at
-- most 4096 processes).
local now = now_ms()
local seen = redis.call('ZRANGEBYSCORE', KEYS[2], now - tonumber(ARGV[1]), '+inf',
  'WITHSCORES', 'LIMIT', 0, 4096)
local out = {}
for i = 1, #seen, 2 do
  local entry = redis.call('HGET', KEYS[1], seen[i])
  if entry then
    out[#out + 1] = entry
    out[#out + 1] = seen[i + 1]
  end
end
return {redis.call('SMEMBERS', KEYS[3]), out}
