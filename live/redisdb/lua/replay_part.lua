-- replay_part.lua: a part of the replay was closed by its recorder (its file is complete).
-- KEYS[1] the replay (hash)  ({r:<room>}:replay)
-- ARGV[1] the part's number, ARGV[2] its summary JSON (file, codec, frames, first_ms,
--         last_ms, bytes, dropped, error)
-- Returns 1, or 0 when the replay is gone (deleted meanwhile).
if not redis.call('HGET', KEYS[1], 'status') then
  return 0
end
local summary = cjson.decode(ARGV[2])
summary['state'] = 'done'
redis.call('HSET', KEYS[1], 'part:' .. ARGV[1], cjson.encode(summary))
return 1
