-- bag_commit.lua: the last step of a bag checkout, on the room's slot, once every line's
-- units are reserved on its product's slot: the order appears (held) with all its lines,
-- or, when the sweeper already gave the checkout up or the key took another order, it does
-- not, and the caller returns the units.
-- KEYS[1] the bag idempotency hash   KEYS[2] the bag journal   KEYS[3] the journal's due set
-- KEYS[4] the new order's key        KEYS[5] the bag holds     KEYS[6] the room's order counter
-- KEYS[7] the order records          KEYS[8] the order index   KEYS[9] the room's totals
-- KEYS[10] the line-up stock hash    KEYS[11] the room's channel
-- KEYS[12] the buyer's orders in the room (zset)
-- ARGV[1] user_id   ARGV[2] Idempotency-Key   ARGV[3] body fingerprint   ARGV[4] order id
-- ARGV[5] the order's JSON object without its closing brace: `order_no`, `created_at`,
--         `expires_at` and `v` are appended here (no decoding and encoding of the order)
-- ARGV[6] hold ms   ARGV[7] the user id as a JSON string   ARGV[8] the room's order key
-- prefix   ARGV[9] ms the order and its key are kept
-- ARGV[10..] availability as pairs: sku, JSON {available, variants?, queue?}
-- Returns {'created', order_no, created_at, expires_at} (the caller has the rest of the
-- order), {'replay', JSON}, {'idempotency_mismatch', ''} or {'abandoned', ''}; in the last
-- three the intent became a `release` journal entry.
-- include: _shop.lua
local intent = ARGV[4] .. ':intent'
local now = now_ms()
local idem_field = ARGV[1] .. ' ' .. ARGV[2]
local prior = redis.call('HGET', KEYS[1], idem_field)
if prior then
  -- The key took another order meanwhile: this checkout gives its units back.
  local raw_intent = redis.call('HGET', KEYS[2], intent)
  if not raw_intent then return {'abandoned', ''} end
  redis.call('HDEL', KEYS[2], intent)
  redis.call('ZREM', KEYS[3], intent)
  journal(KEYS[2], KEYS[3], ARGV[4], 'release', cjson.decode(raw_intent)['lines'], nil, now)
  local sep = string.find(prior, '|', 1, true)
  if string.sub(prior, sep + 1) ~= ARGV[3] then return {'idempotency_mismatch', ''} end
  return {'replay', redis.call('GET', ARGV[8] .. string.sub(prior, 1, sep - 1)) or ''}
end
-- No intent: the sweeper gave this checkout up (its units are being returned).
if redis.call('HDEL', KEYS[2], intent) == 0 then return {'abandoned', ''} end
redis.call('ZREM', KEYS[3], intent)
local order_no = redis.call('INCR', KEYS[6])
local expires_at = now + tonumber(ARGV[6])
local json = ARGV[5] .. ',"order_no":' .. order_no .. ',"created_at":' .. now
  .. ',"expires_at":' .. expires_at .. ',"v":1}'
local keep = tonumber(ARGV[9])
redis.call('SET', KEYS[4], json, 'PX', keep)
redis.call('HSET', KEYS[1], idem_field, ARGV[4] .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[5], expires_at, ARGV[4])
redis.call('ZADD', KEYS[8], order_no, ARGV[4])
redis.call('HINCRBY', KEYS[9], 'orders_placed', 1)
redis.call('ZADD', KEYS[12], now, ARGV[4])
redis.call('HSET', KEYS[7], ARGV[4], json)
-- The room's order record lives `keep` after its last order, as order_record.lua keeps it:
-- the idempotency hash (written by this script alone) stands for the room-wide keys.
if needs_keep_alive(KEYS[1], keep) then
  for _, k in ipairs({KEYS[1], KEYS[7], KEYS[8], KEYS[9]}) do redis.call('PEXPIRE', k, keep) end
end
if needs_keep_alive(KEYS[12], keep) then redis.call('PEXPIRE', KEYS[12], keep) end
publish_room(KEYS[11], '{"type":"order","to":' .. ARGV[7] .. ',"order":' .. json .. ',"ts":'
  .. now .. '}')
lineup_stock_changed(KEYS[10], KEYS[11], {unpack(ARGV, 10)}, now)
return {'created', order_no, now, expires_at}
