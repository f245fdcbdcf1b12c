-- _sale.lua: helpers of the sale scripts, included after _lib.lua (`-- include: _sale.lua`).
-- Every sale script is called with the same first seven keys, all under the room's tag:
--   K[1] the sale hash             ({r:<room>}:sale:<sale_id>)
--   K[2] the sale's holds          (sorted set order_id -> deadline ms)
--   K[3] the sale's buyers         (hash user_id -> units held or paid)
--   K[4] the sale's order log      (stream, read by the `orders` consumer group)
--   K[5] the room's seq counter, K[6] the room's history stream, K[7] the room's channel
-- Keys built from K[1], under the same tag: K[1] .. ':waitlist' (sorted set of waiting
-- user ids, first in line first) and K[1] .. ':offers' (sorted set user id -> the offer's
-- deadline ms): a sold-out sale's waitlist (see waitlist_join.lua).

local SALE_NUMBERS = {'stock', 'left', 'held', 'sold', 'per_buyer_limit', 'price_cents',
  'hold_s', 'starts_at', 'ends_at', 'created_at', 'closed_at', 'offered', 'waiting',
  'offer_s'}
local SALE_INTERNAL = {'expire_at', 'stock_at', 'stock_dirty', 'rate_s', 'waitlist_no'}
local DEFAULT_OFFER_S = 60

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
  local v = redis.call('HMGET', K[1], 'left', 'held', 'sold', 'offered', 'waiting')
  redis.call('HSET', K[1], 'stock_at', now_ms(), 'stock_dirty', 0)
  emit_volatile(K[7], {type = 'stock', sale_id = sale_id, left = tonumber(v[1]),
    held = tonumber(v[2]), sold = tonumber(v[3]), offered = tonumber(v[4] or '0'),
    waiting = tonumber(v[5] or '0')})
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

-- A personal event for one user, through the room's channel.
local function tell(K, user, event)
  event['to'] = user
  event['ts'] = now_ms()
  publish_room(K[7], cjson.encode(event))
end

-- The sale closes: everyone waiting or holding an offer hears `waitlist_closed`; offered
-- units go back to `left` (unsold), and the waitlist is gone.
local function close_waitlist(K, sale_id)
  local waitlist, offers = K[1] .. ':waitlist', K[1] .. ':offers'
  local users = redis.call('ZRANGE', waitlist, 0, -1)
  local holders = redis.call('ZRANGE', offers, 0, -1)
  for _, user in ipairs(users) do tell(K, user, {type = 'waitlist_closed', sale_id = sale_id}) end
  for _, user in ipairs(holders) do tell(K, user, {type = 'waitlist_closed', sale_id = sale_id}) end
  if #holders > 0 then
    redis.call('HINCRBY', K[1], 'left', #holders)
    redis.call('HINCRBY', K[1], 'offered', -#holders)
  end
  if #users > 0 or #holders > 0 then
    redis.call('DEL', waitlist, offers)
    redis.call('HSET', K[1], 'waiting', 0)
  end
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
    close_waitlist(K, s[5])
    emit_room_event(K[5], K[6], K[7], maxlen,
      {type = 'sale_closed', sale_id = s[5], sale = sale_view(K[1])})
  end
  return status
end

-- Units come back to a sale (a hold ended, an offer lapsed or was declined): each is kept
-- for the first in line on the waitlist for the sale's `offer_s` (a personal `offer`),
-- and goes back to `left` when nobody waits. A sold-out sale still running reopens.
-- Returns `left` after.
local function return_units(K, maxlen, sale_id, qty, now)
  local to_left = qty
  if tonumber(redis.call('HGET', K[1], 'waiting') or '0') > 0 then
    local waitlist, offers = K[1] .. ':waitlist', K[1] .. ':offers'
    local offer_ms = (tonumber(redis.call('HGET', K[1], 'offer_s')) or DEFAULT_OFFER_S) * 1000
    while to_left > 0 do
      local first = redis.call('ZPOPMIN', waitlist)
      if #first == 0 then break end
      local deadline = now + offer_ms
      redis.call('ZADD', offers, deadline, first[1])
      redis.call('PEXPIREAT', offers, tonumber(redis.call('HGET', K[1], 'expire_at')))
      redis.call('HINCRBY', K[1], 'waiting', -1)
      redis.call('HINCRBY', K[1], 'offered', 1)
      tell(K, first[1], {type = 'offer', sale_id = sale_id, qty = 1,
        offer_expires_at = deadline})
      to_left = to_left - 1
    end
  end
  local left = redis.call('HINCRBY', K[1], 'left', to_left)
  local s = redis.call('HMGET', K[1], 'status', 'ends_at')
  if to_left > 0 and s[1] == 'sold_out' and now < tonumber(s[2]) then
    redis.call('HSET', K[1], 'status', 'open')
    emit_room_event(K[5], K[6], K[7], maxlen,
      {type = 'sale_reopened', sale_id = sale_id, left = left})
  end
  return left
end

-- Offers whose time is up pass on to the next in line (or back to `left`).
-- Returns how many lapsed.
local function expire_offers(K, maxlen, sale_id, now)
  local offers = K[1] .. ':offers'
  local lapsed = redis.call('ZRANGEBYSCORE', offers, '-inf', now, 'LIMIT', 0, 200)
  for _, user in ipairs(lapsed) do
    redis.call('ZREM', offers, user)
    redis.call('HINCRBY', K[1], 'offered', -1)
    tell(K, user, {type = 'offer_expired', sale_id = sale_id})
    return_units(K, maxlen, sale_id, 1, now)
  end
  return #lapsed
end

-- Return a held order's units to the sale (see return_units) and free them from the
-- buyer's limit; the order becomes `new_status` (cancelled or expired).
local function release_hold(K, maxlen, order_key, order, new_status, now)
  local qty = order['qty']
  order['status'] = new_status
  order['released_at'] = now
  local json = cjson.encode(order)
  redis.call('SET', order_key, json, 'KEEPTTL')
  redis.call('ZREM', K[2], order['order_id'])
  redis.call('HINCRBY', K[1], 'held', -qty)
  if redis.call('HINCRBY', K[3], order['user_id'], -qty) <= 0 then
    redis.call('HDEL', K[3], order['user_id'])
  end
  local address = order['limit_address']
  if address and redis.call('HINCRBY', K[3], address, -qty) <= 0 then
    redis.call('HDEL', K[3], address)
  end
  return_units(K, maxlen, order['sale_id'], qty, now)
  order_changed(K, order, json, now)
  stock_event(K, order['sale_id'])
  return json
end
