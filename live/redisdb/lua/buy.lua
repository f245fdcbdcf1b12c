-- buy.lua: take units of a sale for one buyer, all or nothing, in one round trip.
-- Safe to run twice (redis-py retries, client retries): the idempotency key answers the
-- first order and takes nothing more.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- KEYS[8]  the sale's idempotency hash (`<user_id> <key>` -> `<order_id>|<fingerprint>`)
-- KEYS[9]  the new order's key ({r:<room>}:order:<ARGV[6]>)
-- KEYS[10] the room's order number counter (its lifetime is set by sale_create.lua)
-- ARGV[1] room history length to keep    ARGV[2] user_id
-- ARGV[3] Idempotency-Key                 ARGV[4] fingerprint of the request body
-- ARGV[5] qty                             ARGV[6] the new order's id
-- ARGV[7] the room's order key prefix     ARGV[8] client IP ('' when exempt)
-- ARGV[9] buys per user per second        ARGV[10] buys per IP per second
-- ARGV[11] the anonymous buyer's address key ('a <digest>'; '' when not counted): its
--          held and paid units, kept in KEYS[3] beside the buyers' own, obey the limit too
-- Keys built here, all under the room's tag of KEYS[1]:
--   ARGV[7] .. <order_id>             an earlier order, read to answer a replay
--   KEYS[1] .. ':rate:' .. <second>   this second's buy counts (hash: `u <user_id>` and
--                                     `ip <address>` -> count), kept 2 s
--   KEYS[1] .. ':offers'              units kept for waitlisted buyers (read only while
--                                     the sale's `offered` is above 0)
-- Returns {code, detail}: {'created', order JSON}, {'replay', order JSON} or an error code.
-- Writes are what cost Redis CPU here (each is also appended to the AOF), so the sale's
-- numbers are read once and written back in one HSET.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local user = ARGV[2]
local qty = tonumber(ARGV[5])
local idem_field = user .. ' ' .. ARGV[3]

local prior = redis.call('HGET', KEYS[8], idem_field)
if prior then
  local sep = string.find(prior, '|', 1, true)
  if string.sub(prior, sep + 1) ~= ARGV[4] then return {'idempotency_mismatch', ''} end
  local order = redis.call('GET', ARGV[7] .. string.sub(prior, 1, sep - 1))
  if not order then return {'not_found', ''} end
  return {'replay', order}
end

local now = now_ms()
local s = redis.call('HMGET', KEYS[1], 'status', 'starts_at', 'ends_at', 'left', 'sale_id',
  'held', 'sold', 'per_buyer_limit', 'hold_s', 'price_cents', 'room_id', 'sku', 'title',
  'currency', 'expire_at', 'stock_at', 'rate_s', 'offered')
local status = advance_sale(KEYS, maxlen, now, s)
if not status then return {'not_found', ''} end

-- Counted after the idempotency check, so a retried key never counts twice.
local second = math.floor(now / 1000)
local rate_key = KEYS[1] .. ':rate:' .. second
local function over_rate(field, limit)
  local count = redis.call('HINCRBY', rate_key, field, 1)
  -- The sale remembers which second's counts already expire (`rate_s`): once a second.
  if tonumber(s[17]) ~= second then
    redis.call('PEXPIRE', rate_key, 2000)
    redis.call('HSET', KEYS[1], 'rate_s', second)
    s[17] = tostring(second)
  end
  return count > limit
end
if over_rate('u ' .. user, tonumber(ARGV[9])) then return {'rate_limited', ''} end
if ARGV[8] ~= '' and over_rate('ip ' .. ARGV[8], tonumber(ARGV[10])) then
  return {'rate_limited', ''}
end

if status == 'scheduled' or status == 'closed' then return {'sale_not_open', ''} end
local left, limit = tonumber(s[4]), tonumber(s[8])
if qty > limit then return {'bad_request', tostring(limit)} end
-- A unit kept for this buyer (the first on the waitlist) counts as theirs to take; only
-- looked up while some unit is offered, so the flash-sale path does no more work.
local offered = tonumber(s[18] or '0') or 0
local from_offer = 0
if offered > 0 then
  local deadline = redis.call('ZSCORE', KEYS[1] .. ':offers', user)
  if deadline and tonumber(deadline) > now then from_offer = 1 end
end
if left + from_offer == 0 then return {'sold_out', '0'} end
if left + from_offer < qty then return {'not_enough_left', tostring(left + from_offer)} end
local mine = tonumber(redis.call('HGET', KEYS[3], user) or '0')
if mine + qty > limit then return {'limit_reached', tostring(limit - mine)} end
local address = ARGV[11]
if address ~= '' then
  local by_address = tonumber(redis.call('HGET', KEYS[3], address) or '0')
  if by_address + qty > limit then return {'limit_reached', tostring(limit - by_address)} end
end

local sale_id = s[5]
local left_after, held_after = left - (qty - from_offer), tonumber(s[6]) + qty
if from_offer == 1 then
  redis.call('ZREM', KEYS[1] .. ':offers', user)
  offered = offered - 1
  redis.call('HSET', KEYS[1], 'offered', offered)
end
redis.call('HINCRBY', KEYS[3], user, qty)
if address ~= '' then redis.call('HINCRBY', KEYS[3], address, qty) end
local expire_at = tonumber(s[15])
local price = tonumber(s[10])
local order = {order_id = ARGV[6], order_no = redis.call('INCR', KEYS[10]), sale_id = sale_id,
  room_id = s[11], user_id = user, sku = s[12], title = s[13], qty = qty, price_cents = price,
  currency = s[14], amount_cents = price * qty, status = 'held', created_at = now,
  expires_at = now + tonumber(s[9]) * 1000}
-- Private (never answered: public_order keeps the contract's fields): released with the hold.
if address ~= '' then order['limit_address'] = address end
local json = cjson.encode(order)
-- The order lives as long as its idempotency entry, so a late retry still finds it.
redis.call('SET', KEYS[9], json, 'PXAT', expire_at + 86400000)
redis.call('HSET', KEYS[8], idem_field, ARGV[6] .. '|' .. ARGV[4])
redis.call('ZADD', KEYS[2], order['expires_at'], ARGV[6])
-- Keys are kept for the order's lifetime plus a day. A key may lack its expiry only when
-- this buy created it: the hold set when nothing was held (it is emptied as holds end),
-- the buyers and idempotency hashes when nothing was held or sold (every unit held or sold
-- is some buyer's, and the first order comes then). Otherwise no check is needed.
local held_before = tonumber(s[6])
if held_before == 0 then
  if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIREAT', KEYS[2], expire_at) end
  if held_before + tonumber(s[7]) == 0 then
    if redis.call('PTTL', KEYS[8]) < 0 then
      redis.call('PEXPIREAT', KEYS[8], expire_at + 86400000)
    end
    if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIREAT', KEYS[3], expire_at) end
  end
end

-- The new numbers in one write; stock is published at most every STOCK_EVERY_MS per sale
-- (the sweep publishes what was held back, see stock_event_soon).
local stock_now = now - (tonumber(s[16]) or 0) >= STOCK_EVERY_MS
if stock_now then
  redis.call('HSET', KEYS[1], 'left', left_after, 'held', held_after, 'stock_at', now,
    'stock_dirty', 0)
else
  redis.call('HSET', KEYS[1], 'left', left_after, 'held', held_after, 'stock_dirty', 1)
end
if left_after == 0 and status ~= 'sold_out' then
  redis.call('HSET', KEYS[1], 'status', 'sold_out')
  emit_room_event(KEYS[5], KEYS[6], KEYS[7], maxlen, {type = 'sold_out', sale_id = sale_id})
end
order_changed(KEYS, order, json, now)
if stock_now then
  publish_room(KEYS[7], cjson.encode({type = 'stock', sale_id = sale_id, ts = now,
    left = left_after, held = held_after, sold = tonumber(s[7]), offered = offered}))
end
return {'created', json}
