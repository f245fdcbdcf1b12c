-- media_clock.lua: the origin's media clock for a live room (see _lib.lua, which stamps
-- every durable event with `media_ms` from it and records the replay's chapters).
-- KEYS[1] the room's media clock (hash)  ({r:<room>}:mclock)
-- KEYS[2] the replay (hash)              ({r:<room>}:replay)
-- ARGV[1] "tick" (the last video frame forwarded) or "stop" (the room is not live)
-- ARGV[2] that frame's position, ms on the media clock
-- ARGV[3] ms since it was forwarded (when this call was sent)
-- ARGV[4] the clock's start as the origin set it (Redis ms), '' when already saved
-- ARGV[5] the chapters' lifetime in seconds (0: the show is not recorded)
-- ARGV[6] the clock's lifetime in ms (a few ticks: an origin that died stops stamping)
-- Returns {the clock's start (t0) as Redis holds it ('' when none), Redis's time (ms)}.
local now = now_ms()
if ARGV[1] == 'stop' then
  redis.call('DEL', KEYS[1])
  return {redis.call('HGET', KEYS[2], 't0') or '', now}
end
if ARGV[4] ~= '' then
  redis.call('HSETNX', KEYS[2], 't0', ARGV[4])
end
redis.call('HSET', KEYS[1], 'pos', ARGV[2], 'at', now - tonumber(ARGV[3]), 'ttl', ARGV[5])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
return {redis.call('HGET', KEYS[2], 't0') or '', now}
