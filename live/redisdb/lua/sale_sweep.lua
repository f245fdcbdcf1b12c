-- sale_sweep.lua: one sweep of one sale: scheduled start and end, expired holds, lapsed
-- waitlist offers (passed on to the next in line), and the latest stock when the buy path
-- held it back.
-- Any number of workers may run it at once: each change is checked and made atomically
-- (a hold is released only while its order is still held), so nothing happens twice.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- ARGV[1] room history length to keep
-- ARGV[2] the room's order key prefix ({r:<room>}:order:)
-- ARGV[3] most holds released in one call
-- Keys built here, under the room's tag of KEYS[1]: ARGV[2] .. <order_id>, the order of
-- each due hold (the hold set names them; they cannot be known before the script runs).
-- Returns {released, state}: state 1 when the sale is closed with no hold left (nothing
-- will change any more), -1 when the sale no longer exists, 0 otherwise.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local now = now_ms()
local status = advance_sale(KEYS, maxlen, now)
if not status then return {0, -1} end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local released = 0
for _, order_id in ipairs(due) do
  local key = ARGV[2] .. order_id
  local raw = redis.call('GET', key)
  local order = raw and cjson.decode(raw)
  if order and order['status'] == 'held' then
    release_hold(KEYS, maxlen, key, order, 'expired', now)
    released = released + 1
  else
    redis.call('ZREM', KEYS[2], order_id)
  end
end
if tonumber(redis.call('HGET', KEYS[1], 'offered') or '0') > 0 then
  if expire_offers(KEYS, maxlen, redis.call('HGET', KEYS[1], 'sale_id'), now) > 0 then
    redis.call('HSET', KEYS[1], 'stock_dirty', 1)
  end
end
if redis.call('HGET', KEYS[1], 'stock_dirty') == '1' then
  stock_event(KEYS, redis.call('HGET', KEYS[1], 'sale_id'))
end
local state = 0
if status == 'closed' and redis.call('ZCARD', KEYS[2]) == 0 then state = 1 end
return {released, state}
