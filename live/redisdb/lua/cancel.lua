-- cancel.lua: cancel a held order; its units go back to the sale at once.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- KEYS[8] the order's key
-- ARGV[1] room history length to keep
-- ARGV[2] the buyer's user_id, or '' when the room's host or an admin cancels
-- Returns {'ok', order JSON} or {error code, order JSON or ''}.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local raw = redis.call('GET', KEYS[8])
if not raw then return {'not_found', ''} end
local order = cjson.decode(raw)
if ARGV[2] ~= '' and order['user_id'] ~= ARGV[2] then return {'forbidden', ''} end
if order['status'] == 'cancelled' then return {'ok', raw} end
if order['status'] == 'paid' then return {'already_paid', raw} end
if order['status'] == 'expired' then return {'hold_expired', raw} end
local now = now_ms()
advance_sale(KEYS, maxlen, now)
if now >= order['expires_at'] then
  return {'hold_expired', release_hold(KEYS, maxlen, KEYS[8], order, 'expired', now)}
end
return {'ok', release_hold(KEYS, maxlen, KEYS[8], order, 'cancelled', now)}
