-- replay_finish.lua: turning an ended room's recording into its replay.
-- KEYS[1] the replay (hash)            ({r:<room>}:replay)
-- KEYS[2] the replay's line-up (hash)  ({r:<room>}:replay:lineup)
-- KEYS[3] the room's line-up (zset)    ({r:<room>}:lineup)
-- KEYS[4] the line-up's cards (hash)   ({r:<room>}:cards)
-- KEYS[5] the replay's chapters (list) ({r:<room>}:chapters)
-- KEYS[6] the replay's picture (hash)  ({r:<room>}:replay:still)
-- ARGV[1] "claim": take the finishing for ARGV[2] ms (one finisher at a time)
--         "ready": the replay is ready: ARGV[2] its fields as JSON (file, duration_ms,
--         content_type, codec, runs), ARGV[3] its lifetime in seconds, ARGV[4] its
--         picture (JPEG bytes, or empty: none), ARGV[5] the picture's ETag
--         "empty": nothing was recorded, ARGV[3] the lifetime of the record
-- Returns {'ok'}, or {'busy'} / {status} when there is nothing to do.
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'recording' then
  return {status or 'none'}
end
local now = now_ms()
if ARGV[1] == 'claim' then
  local until_ms = tonumber(redis.call('HGET', KEYS[1], 'finishing') or '0')
  if until_ms > now then
    return {'busy'}
  end
  redis.call('HSET', KEYS[1], 'finishing', now + tonumber(ARGV[2]))
  return {'ok'}
end
local ttl = tonumber(ARGV[3])
redis.call('HDEL', KEYS[1], 'finishing')
if ARGV[1] == 'empty' then
  redis.call('HSET', KEYS[1], 'status', 'none', 'ready_at', now)
  redis.call('EXPIRE', KEYS[1], ttl)
  return {'ok'}
end
local fields = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[1], 'status', 'ready', 'ready_at', now, 'file', fields['file'],
  'duration_ms', fields['duration_ms'], 'content_type', fields['content_type'],
  'codec', fields['codec'], 'runs', cjson.encode(fields['runs']))
-- The line-up as it was, so the replay sells it after the room's own keys expire.
redis.call('DEL', KEYS[2])
for _, sku in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local card = redis.call('HGET', KEYS[4], sku)
  if card then
    redis.call('HSET', KEYS[2], sku, card)
  end
end
for i = 1, 2 do
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('EXPIRE', KEYS[5], ttl)
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[6], 'jpeg', ARGV[4], 'etag', ARGV[5], 'at', now)
  redis.call('EXPIRE', KEYS[6], ttl)
end
return {'ok'}
