-- waitlist_join.lua: a buyer joins a sold-out sale's waitlist (one entry, for one unit).
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua; the waitlist and
-- offers keys are built from KEYS[1] there)
-- ARGV[1] room history length to keep   ARGV[2] user_id
-- Returns {'ok', position, waiting} (joining again answers the same position),
-- {'offered', deadline ms} when a unit is already kept for this buyer, or an error code:
-- not_found, sale_not_open, not_sold_out, limit_reached.
-- include: _sale.lua
local user = ARGV[2]
local now = now_ms()
local status = advance_sale(KEYS, tonumber(ARGV[1]), now)
if not status then return {'not_found'} end
if status == 'scheduled' or status == 'closed' then return {'sale_not_open'} end
local waitlist, offers = KEYS[1] .. ':waitlist', KEYS[1] .. ':offers'
local deadline = redis.call('ZSCORE', offers, user)
if deadline then return {'offered', tonumber(deadline)} end
local rank = redis.call('ZRANK', waitlist, user)
if not rank then
  local s = redis.call('HMGET', KEYS[1], 'left', 'per_buyer_limit', 'expire_at')
  if tonumber(s[1]) > 0 then return {'not_sold_out'} end
  local mine = tonumber(redis.call('HGET', KEYS[3], user) or '0')
  if mine + 1 > tonumber(s[2]) then return {'limit_reached'} end
  -- Scored by a counter rather than the clock: two joins in one millisecond keep order.
  local number = redis.call('HINCRBY', KEYS[1], 'waitlist_no', 1)
  redis.call('ZADD', waitlist, number, user)
  redis.call('PEXPIREAT', waitlist, tonumber(s[3]))
  redis.call('HINCRBY', KEYS[1], 'waiting', 1)
  rank = redis.call('ZRANK', waitlist, user)
  stock_event(KEYS, redis.call('HGET', KEYS[1], 'sale_id'))
end
return {'ok', rank + 1, redis.call('ZCARD', waitlist)}
