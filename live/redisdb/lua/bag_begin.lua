-- bag_begin.lua: the first step of a bag checkout, on the room's slot: the room is open,
-- every line is on its line-up, the Idempotency-Key is new, and the checkout's intent is
-- journaled before any product is touched (so a crash mid-checkout is undone by the
-- sweeper: see docs/architecture.md, "The bag across slots").
-- KEYS[1] the room hash            KEYS[2] the room's line-up (zset)
-- KEYS[3] the bag idempotency hash KEYS[4] the bag journal hash
-- KEYS[5] the journal's due set
-- KEYS[6] the room's replay (hash)  KEYS[7] the replay's line-up (hash sku -> card): an
--         ended room whose replay is ready sells the line-up kept with its replay
-- ARGV[1] user_id   ARGV[2] Idempotency-Key   ARGV[3] body fingerprint
-- ARGV[4] the new order's id   ARGV[5] the room's order key prefix
-- ARGV[6] the intent JSON ({op, order_id, lines})   ARGV[7] ms before an unfinished
--         checkout is undone   ARGV[8..] each line's sku, in order
-- Keys built here: ARGV[5] .. <order_id>, an earlier order read to answer a replay.
-- Returns {'ok', ''}, {'replay', order JSON}, {'not_in_lineup', line index} or a code.
-- include: _shop.lua
local status = redis.call('HGET', KEYS[1], 'status')
local from_replay = status ~= 'open' and redis.call('HGET', KEYS[6], 'status') == 'ready'
if not from_replay then
  if not status then return {'not_found', ''} end
  if status == 'ended' then return {'room_ended', ''} end
end
local prior = redis.call('HGET', KEYS[3], ARGV[1] .. ' ' .. ARGV[2])
if prior then
  local sep = string.find(prior, '|', 1, true)
  if string.sub(prior, sep + 1) ~= ARGV[3] then return {'idempotency_mismatch', ''} end
  local order = redis.call('GET', ARGV[5] .. string.sub(prior, 1, sep - 1))
  if not order then return {'not_found', ''} end
  return {'replay', order}
end
if from_replay then
  for i = 8, #ARGV do
    if redis.call('HEXISTS', KEYS[7], ARGV[i]) == 0 then
      return {'not_in_lineup', tostring(i - 8)}
    end
  end
else
  -- Every line's product in one read.
  local scores = redis.call('ZMSCORE', KEYS[2], unpack(ARGV, 8))
  for i = 1, #ARGV - 7 do
    if not scores[i] then return {'not_in_lineup', tostring(i - 1)} end
  end
end
local field = ARGV[4] .. ':intent'
redis.call('HSET', KEYS[4], field, ARGV[6])
redis.call('ZADD', KEYS[5], now_ms() + tonumber(ARGV[7]), field)
return {'ok', ''}
