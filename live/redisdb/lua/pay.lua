-- pay.lua: turn a held order into a paid one, once; paying again answers the paid order.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- KEYS[8] the order's key
-- ARGV[1] room history length to keep
-- ARGV[2] the buyer's user_id (the order must be theirs)
-- ARGV[3] the payment provider's reference
-- Returns {'ok', order JSON} or {error code, order JSON or ''}.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local raw = redis.call('GET', KEYS[8])
if not raw then return {'not_found', ''} end
local order = cjson.decode(raw)
if order['user_id'] ~= ARGV[2] then return {'forbidden', ''} end
if order['status'] == 'paid' then return {'ok', raw} end
if order['status'] == 'cancelled' then return {'order_cancelled', raw} end
if order['status'] == 'expired' then return {'hold_expired', raw} end
local now = now_ms()
advance_sale(KEYS, maxlen, now)
if now >= order['expires_at'] then
  return {'hold_expired', release_hold(KEYS, maxlen, KEYS[8], order, 'expired', now)}
end
order['status'] = 'paid'
order['paid_at'] = now
order['payment_id'] = ARGV[3]
local json = cjson.encode(order)
redis.call('SET', KEYS[8], json, 'KEEPTTL')
redis.call('ZREM', KEYS[2], order['order_id'])
redis.call('HINCRBY', KEYS[1], 'held', -order['qty'])
redis.call('HINCRBY', KEYS[1], 'sold', order['qty'])
order_changed(KEYS, order, json, now)
stock_event(KEYS, order['sale_id'])
return {'ok', json}
