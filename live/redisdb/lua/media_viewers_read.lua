-- media_viewers_read.lua: the live viewer counts of a room's processes.
-- KEYS[1] the room's media processes ({r:<room>}:media_procs): zset, member -> expiry ms
-- KEYS[2] the room's viewer counts ({r:<room>}:media_viewers): hash, member -> count
-- ARGV[1] now, ms
-- Returns a flat list: member, count, member, count, ... (lapsed processes left out).
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local out = {}
for _, member in ipairs(members) do
  local count = redis.call('HGET', KEYS[2], member)
  if count then
    out[#out + 1] = member
    out[#out + 1] = count
  end
end
return out
