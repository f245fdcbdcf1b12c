-- replay_begin.lua: a publisher's WHIP is being answered at the room's origin: the media
-- clock's start so far, Redis's time (for the origin's clock offset), and, when the show
-- is recorded and the origin asks for one, the number of a new part of the replay.
-- KEYS[1] the room record (hash)   ({r:<room>}:room): its `record` ("0": opted out)
-- KEYS[2] the replay (hash)        ({r:<room>}:replay)
-- ARGV[1] "1" when [media] record is on
-- ARGV[2] "1" to claim a new part (no part of this origin is being recorded)
-- ARGV[3] the new part's video codec ("vp8" or "h264")
-- ARGV[4] the replay's lifetime in seconds ([media] replay_retention_days)
-- Returns {now_ms, t0 ('' before the first frame), part (0: none), recorded (0 or 1)}.
local now = now_ms()
local room = redis.call('HMGET', KEYS[1], 'record', 'title', 'host_name', 'host_id')
local recorded = ARGV[1] == '1' and room[1] ~= '0'
local part = 0
if recorded then
  local status = redis.call('HGET', KEYS[2], 'status')
  if status ~= 'recording' then
    -- A new replay (none yet, or the last one was deleted): it keeps the room's card.
    redis.call('HSET', KEYS[2], 'status', 'recording', 'started_at', now,
      'title', room[2] or '', 'host_name', room[3] or '', 'host_id', room[4] or '')
  end
  if ARGV[2] == '1' then
    part = redis.call('HINCRBY', KEYS[2], 'parts', 1)
    redis.call('HSET', KEYS[2], 'part:' .. part,
      cjson.encode({part = part, codec = ARGV[3], state = 'open', opened_at = now}))
  end
end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
return {now, redis.call('HGET', KEYS[2], 't0') or '', part, recorded and 1 or 0}
