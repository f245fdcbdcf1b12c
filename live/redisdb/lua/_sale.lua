-- _sale.lua: helpers of the sale scripts, included after _lib.lua (`-- include: _sale.lua`).
-- Every sale script is called with the same first seven keys, all under the room's tag:
--   K[1] the sale hash             ({r:<room>}:sale:<sale_id>)
--   K[2] the sale's holds          (sorted set order_id -> deadline ms)
--   K[3] the sale's buyers         (hash user_id -> units held or paid)
--   K[4] the sale's order log      (stream, read by the `orders` consumer group)
--   K[5] the room's seq counter, K[6] the room's history stream, K[7] the room's channel

local SALE_NUMBERS = {'stock', 'left', 'held', 'sold', 'per_buyer_limit', 'price_cents',
  'hold_s', 'starts_at', 'ends_at', 'created_at', 'closed_at'}
local SALE_INTERNAL = {'expire_at', 'stock_at', 'stock_dirty', 'rate_s'}

-- The sale as the API answers it.
local function sale_view(sale_key)
  local raw = redis.call('HGETALL', sale_key)
  local sale = {}
  for i = 1, #raw, 2 do sale[raw[i]] = raw[i + 1] end
  for _, name in ipairs(SALE_NUMBERS) do
    if sale[name] then sale[name] = tonumber(sale[name]) end
  end
  for _, name in ipairs(SALE_INTERNAL) do sale[name] = nil end
  return sale
end

-- Give `key` an expiry at `at` ms unless it already lives longer.
local function keep_until(key, at)
  redis.call('PEXPIREAT', key, at, 'NX')
  redis.call('PEXPIREAT', key, at, 'GT')
end

local function stock_event(K, sale_id)
  local v = redis.call('HMGET', K[1], 'left', 'held', 'sold')
  redis.call('HSET', K[1], 'stock_at', now_ms(), 'stock_dirty', 0)
  emit_volatile(K[7], {type = 'stock', sale_id = sale_id, left = tonumber(v[1]),
    held = tonumber(v[2]), sold = tonumber(v[3])})
end

-- The hot path publishes stock at most every STOCK_EVERY_MS per sale and marks the sale
-- dirty otherwise; the sweep publishes what is left (the channel coalesces per tick anyway).
local STOCK_EVERY_MS = 50
local function stock_event_soon(K, sale_id, now, stock_at)
  if now - (tonumber(stock_at) or 0) >= STOCK_EVERY_MS then
    stock_event(K, sale_id)
  else
    redis.call('HSET', K[1], 'stock_dirty', 1)
  end
end

-- An order changed: append it to the sale's order log and tell its buyer (and the host).
-- The event is put together around the stored JSON rather than encoded a second time.
local function order_changed(K, order, json, now)
  redis.call('XADD', K[4], '*', 'o', json)
  publish_room(K[7], '{"type":"order","ts":' .. string.format('%d', now) ..
    ',"to":' .. cjson.encode(order['user_id']) .. ',"order":' .. json .. '}')
end

-- Move a scheduled sale to open when its start has come, and any sale to closed when its
-- end has: each transition happens once, so each event is emitted once. Returns the status
-- (nil when the sale does not exist).
-- `s` may hold those fields already read (status, starts_at, ends_at, left, sale_id first).
local function advance_sale(K, maxlen, now, s)
  s = s or redis.call('HMGET', K[1], 'status', 'starts_at', 'ends_at', 'left', 'sale_id')
  local status = s[1]
  if not status then return nil end
  if status == 'scheduled' and now >= tonumber(s[2]) then
    status = 'open'
    if tonumber(s[4]) == 0 then status = 'sold_out' end
    redis.call('HSET', K[1], 'status', status)
    emit_room_event(K[5], K[6], K[7], maxlen,
      {type = 'sale_open', sale_id = s[5], sale = sale_view(K[1])})
  end
  if status ~= 'closed' and now >= tonumber(s[3]) then
    status = 'closed'
    redis.call('HSET', K[1], 'status', 'closed', 'closed_at', s[3])
    emit_room_event(K[5], K[6], K[7], maxlen,
      {type = 'sale_closed', sale_id = s[5], sale = sale_view(K[1])})
  end
  return status
end

-- Return a held order's units to `left` and free them from the buyer's limit; the order
-- becomes `new_status` (cancelled or expired). A sold-out sale still running reopens.
local function release_hold(K, maxlen, order_key, order, new_status, now)
  local qty = order['qty']
  order['status'] = new_status
  order['released_at'] = now
  local json = cjson.encode(order)
  redis.call('SET', order_key, json, 'KEEPTTL')
  redis.call('ZREM', K[2], order['order_id'])
  redis.call('HINCRBY', K[1], 'held', -qty)
  local left = redis.call('HINCRBY', K[1], 'left', qty)
  if redis.call('HINCRBY', K[3], order['user_id'], -qty) <= 0 then
    redis.call('HDEL', K[3], order['user_id'])
  end
  local s = redis.call('HMGET', K[1], 'status', 'ends_at')
  if s[1] == 'sold_out' and now < tonumber(s[2]) then
    redis.call('HSET', K[1], 'status', 'open')
    emit_room_event(K[5], K[6], K[7], maxlen,
      {type = 'sale_reopened', sale_id = order['sale_id'], left = left})
  end
  order_changed(K, order, json, now)
  stock_event(K, order['sale_id'])
  return json
end
