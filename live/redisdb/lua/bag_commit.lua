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
-- ARGV[5] the order JSON (order_no, created_at, expires_at are set here)
-- ARGV[6] hold ms   ARGV[7] availability JSON (sku -> {available, variants})
-- ARGV[8] the room's order key prefix   ARGV[9] ms the order and its key are kept
-- Returns {'created', JSON}, {'replay', JSON}, {'idempotency_mismatch', ''} or
-- {'abandoned', ''}; in the last three the intent became a `release` journal entry.
-- include: _shop.lua
local intent = ARGV[4] .. ':intent'
local raw_intent = redis.call('HGET', KEYS[2], intent)
if not raw_intent then return {'abandoned', ''} end
local now = now_ms()
local function give_up(code, detail)
  redis.call('HDEL', KEYS[2], intent)
  redis.call('ZREM', KEYS[3], intent)
  local entry = cjson.decode(raw_intent)
  journal(KEYS[2], KEYS[3], ARGV[4], 'release', entry['lines'], nil, now)
  return {code, detail}
end
local idem_field = ARGV[1] .. ' ' .. ARGV[2]
local prior = redis.call('HGET', KEYS[1], idem_field)
if prior then
  local sep = string.find(prior, '|', 1, true)
  if string.sub(prior, sep + 1) ~= ARGV[3] then return give_up('idempotency_mismatch', '') end
  return give_up('replay', redis.call('GET', ARGV[8] .. string.sub(prior, 1, sep - 1)) or '')
end
local order = cjson.decode(ARGV[5])
order['order_no'] = redis.call('INCR', KEYS[6])
order['created_at'] = now
order['expires_at'] = now + tonumber(ARGV[6])
order['v'] = 1
local keep = tonumber(ARGV[9])
local json = cjson.encode(order)
redis.call('SET', KEYS[4], json, 'PX', keep)
redis.call('HSET', KEYS[1], idem_field, ARGV[4] .. '|' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('ZADD', KEYS[5], order['expires_at'], ARGV[4])
redis.call('HDEL', KEYS[2], intent)
redis.call('ZREM', KEYS[3], intent)
redis.call('ZADD', KEYS[8], order['order_no'], ARGV[4])
redis.call('HINCRBY', KEYS[9], 'orders_placed', 1)
redis.call('ZADD', KEYS[12], now, ARGV[4])
-- The room's order record lives `keep` after its last order, as order_record.lua keeps it.
for _, k in ipairs({KEYS[7], KEYS[8], KEYS[9], KEYS[12]}) do redis.call('PEXPIRE', k, keep) end
bag_order_changed(KEYS[4], KEYS[7], KEYS[11], order, now)
lineup_stock_changed(KEYS[10], KEYS[11], ARGV[7], now)
return {'created', json}
