-- auction_end.lua: end an auction whose time is up, once, however many workers sweep it.
-- The winner (a bid at or over the reserve) gets a held order at the final price, sold
-- through a one-unit sale record of the auction's id, so that paying, cancelling and the
-- hold's expiry are the sale scripts' own (pay.lua, cancel.lua, sale_sweep.lua).
-- KEYS[1] the auction hash ({r:<room>}:auction:<auction_id>)
-- KEYS[2..5] the lot's sale keys: hash ({r:<room>}:sale:<auction_id>), holds, buyers, log
-- KEYS[6] the room's seq counter, KEYS[7] its history stream, KEYS[8] its channel
-- KEYS[9] the new order's key, KEYS[10] the room's order number counter
-- ARGV[1] room history length to keep   ARGV[2] the new order's id
-- ARGV[3] ms the auction's records are kept after its end   ARGV[4] the log's group name
-- Returns {'open', ends_at}, {'ended', order_id or ''} or {'gone', ''}.
local a = redis.call('HMGET', KEYS[1], 'status', 'ends_at', 'bids', 'price_cents',
  'reserve_cents', 'leader_id', 'leader_name', 'auction_id', 'room_id', 'sku', 'title',
  'currency', 'hold_s', 'order_id')
if not a[1] then return {'gone', ''} end
if a[1] == 'ended' then return {'ended', a[14] or ''} end
local now = now_ms()
local ends_at = tonumber(a[2])
if now < ends_at then return {'open', ends_at} end

local price = tonumber(a[4])
local won = tonumber(a[3]) > 0 and price >= tonumber(a[5] or '0')
redis.call('HSET', KEYS[1], 'status', 'ended', 'ended_at', ends_at)
local order = nil
local json = nil
if won then
  local expire_at = now + tonumber(ARGV[3])
  local auction_id = a[8]
  order = {order_id = ARGV[2], order_no = redis.call('INCR', KEYS[10]), sale_id = auction_id,
    auction_id = auction_id, room_id = a[9], user_id = a[6], sku = a[10], title = a[11],
    qty = 1, price_cents = price, currency = a[12], amount_cents = price, status = 'held',
    created_at = now, expires_at = now + tonumber(a[13]) * 1000}
  json = cjson.encode(order)
  redis.call('HSET', KEYS[2], 'sale_id', auction_id, 'auction_id', auction_id,
    'room_id', a[9], 'sku', a[10], 'title', a[11], 'currency', a[12], 'price_cents', price,
    'stock', 1, 'left', 0, 'held', 1, 'sold', 0, 'per_buyer_limit', 1, 'hold_s', a[13],
    'status', 'closed', 'created_at', now, 'starts_at', now, 'ends_at', now,
    'closed_at', now, 'expire_at', expire_at)
  redis.call('PEXPIREAT', KEYS[2], expire_at)
  redis.call('ZADD', KEYS[3], order['expires_at'], ARGV[2])
  redis.call('PEXPIREAT', KEYS[3], expire_at)
  redis.call('HSET', KEYS[4], a[6], 1)
  redis.call('PEXPIREAT', KEYS[4], expire_at)
  redis.call('XGROUP', 'CREATE', KEYS[5], ARGV[4], '0', 'MKSTREAM')
  redis.call('PEXPIREAT', KEYS[5], expire_at)
  redis.call('SET', KEYS[9], json, 'PXAT', expire_at)
  redis.call('PEXPIREAT', KEYS[10], expire_at, 'NX')
  redis.call('PEXPIREAT', KEYS[10], expire_at, 'GT')
  redis.call('HSET', KEYS[1], 'winner_id', a[6], 'winner_name', a[7], 'order_id', ARGV[2])
end
local event = {type = 'auction_ended', auction_id = a[8], price_cents = price,
  reserve_met = won}
if won then
  event['winner_id'] = a[6]
  event['winner_name'] = a[7]
  event['order_id'] = ARGV[2]
else
  event['winner_id'] = cjson.null
  event['winner_name'] = cjson.null
end
emit_room_event(KEYS[6], KEYS[7], KEYS[8], ARGV[1], event)
if won then
  redis.call('XADD', KEYS[5], '*', 'o', json)
  publish_room(KEYS[8], '{"type":"order","ts":' .. string.format('%d', now) ..
    ',"to":' .. cjson.encode(a[6]) .. ',"order":' .. json .. '}')
  return {'ended', ARGV[2]}
end
return {'ended', ''}
