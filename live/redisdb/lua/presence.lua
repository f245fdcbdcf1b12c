-- presence.lua: record one process's connection count in a room and publish the viewer
-- total (summed over live processes) when it changed; keep the peak.
-- KEYS[1] the room's presence hash    ({r:<room>}:presence)  process -> "count:expires_ms"
-- KEYS[2] the room's peak             ({r:<room>}:peak)
-- KEYS[3] the room's channel          ({r:<room>}:events)
-- ARGV[1] process id, ARGV[2] its count, ARGV[3] ms until its entry expires (without
-- a heartbeat the process is counted out: no ghost viewers after a crash)
-- ARGV[4] ms the peak is kept when it has no lifetime yet (the room's idle retention)
-- Returns {total, peak}.
local now = now_ms()
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = live_viewers(KEYS[1], now, true)
local peak = tonumber(redis.call('GET', KEYS[2]) or '0')
if total > peak then
  peak = total
  -- KEEPTTL: an ended room's retention (set on the peak at its end) stays as it is.
  redis.call('SET', KEYS[2], peak, 'KEEPTTL')
end
if redis.call('PTTL', KEYS[2]) == -1 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
if tonumber(redis.call('HGET', KEYS[1], '_total') or '-1') ~= total then
  redis.call('HSET', KEYS[1], '_total', total)
  emit_volatile(KEYS[3], {type = 'viewers', count = total})
end
-- An abandoned room's presence disappears by itself.
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return {total, peak}
