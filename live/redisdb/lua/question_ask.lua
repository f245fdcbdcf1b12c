-- question_ask.lua: a viewer asks about a product; only the room's staff hear it (a
-- personal event to "@staff") until it is answered.
-- KEYS[1] the room record (hash)        ({r:<room>}:room)
-- KEYS[2] the room's line-up (zset)     ({r:<room>}:lineup)
-- KEYS[3] the pinned card (JSON)        ({r:<room>}:pinned)
-- KEYS[4] the room's questions (hash)   ({r:<room>}:questions)
-- KEYS[5] unanswered questions (zset)   ({r:<room>}:questions:open)
-- KEYS[6] muted users, KEYS[7] banned users, KEYS[8] the room's channel
-- KEYS[9] the asker's question count this minute ({r:<room>}:qrate:<user_id>)
-- ARGV[1] question_id   ARGV[2] user_id   ARGV[3] name   ARGV[4] text
-- ARGV[5] sku ('' for the pinned product)   ARGV[6] questions per user per minute
-- Returns {'ok', question JSON} or {code}: room_ended, banned, muted, not_in_lineup,
-- rate_limited.
local room = redis.call('HGET', KEYS[1], 'status')
if room ~= 'open' then return {'room_ended'} end
local user = ARGV[2]
if redis.call('SISMEMBER', KEYS[7], user) == 1 then return {'banned'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(redis.call('ZSCORE', KEYS[6], user) or '0') > now then return {'muted'} end
local sku = ARGV[5]
if sku == '' then
  local pinned = redis.call('GET', KEYS[3])
  sku = pinned and cjson.decode(pinned)['sku'] or nil
elseif not redis.call('ZSCORE', KEYS[2], sku) then
  return {'not_in_lineup'}
end
local count = redis.call('INCR', KEYS[9])
if count == 1 then redis.call('PEXPIRE', KEYS[9], 60000) end
if count > tonumber(ARGV[6]) then return {'rate_limited'} end
local question = {question_id = ARGV[1], room_id = string.match(ARGV[1], '^q_(.+)_[^_]+$'),
  user_id = user, name = ARGV[3], text = ARGV[4], sku = sku or cjson.null, asked_at = now}
local json = cjson.encode(question)
redis.call('HSET', KEYS[4], ARGV[1], json)
redis.call('ZADD', KEYS[5], now, ARGV[1])
-- The questions live as long as the room record.
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[4], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
end
publish_room(KEYS[8], '{"type":"question","to":"@staff","ts":' ..
  string.format('%d', now) .. ',' .. string.sub(json, 2))
return {'ok', json}
