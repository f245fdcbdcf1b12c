-- replay_delete.lua: a host or admin deletes the room's replay.
-- KEYS[1] the replay (hash)            ({r:<room>}:replay)
-- KEYS[2] the replay's line-up (hash)  ({r:<room>}:replay:lineup)
-- KEYS[3] the replay's chapters (list) ({r:<room>}:chapters)
-- KEYS[4] the room record (hash)       ({r:<room>}:room)
-- KEYS[5] the replay's picture (hash)  ({r:<room>}:replay:still)
-- ARGV[1] how long the deletion is remembered, seconds
-- Returns {'ok', the files as JSON}, {'none'} when there is no replay, or {'recording'}
-- while the room is still open and being recorded.
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'deleted' or status == 'none' then
  return {'none'}
end
if status == 'recording' and redis.call('HGET', KEYS[4], 'status') == 'open' then
  return {'recording'}
end
local files = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 5) == 'part:' then
    local part = cjson.decode(fields[i + 1])
    if part['file'] then files[#files + 1] = part['file'] end
  elseif name == 'runs' then
    for _, run in ipairs(cjson.decode(fields[i + 1])) do files[#files + 1] = run['file'] end
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5])
-- Remembered, so a finisher still at work never brings it back.
redis.call('HSET', KEYS[1], 'status', 'deleted')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return {'ok', cjson.encode(files)}
