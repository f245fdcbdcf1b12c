-- waitlist_leave.lua: a buyer leaves a sale's waitlist; a unit kept for them (an offer)
-- passes on to the next in line, or back to `left`.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- ARGV[1] room history length to keep   ARGV[2] user_id
-- Returns {'ok', 1 if an entry or offer was removed else 0} or {'not_found'}.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local user = ARGV[2]
local now = now_ms()
if not advance_sale(KEYS, maxlen, now) then return {'not_found'} end
local sale_id = redis.call('HGET', KEYS[1], 'sale_id')
local removed = 0
if redis.call('ZREM', KEYS[1] .. ':waitlist', user) == 1 then
  redis.call('HINCRBY', KEYS[1], 'waiting', -1)
  removed = 1
end
if redis.call('ZREM', KEYS[1] .. ':offers', user) == 1 then
  redis.call('HINCRBY', KEYS[1], 'offered', -1)
  return_units(KEYS, maxlen, sale_id, 1, now)
  removed = 1
end
if removed == 1 then stock_event(KEYS, sale_id) end
return {'ok', removed}
