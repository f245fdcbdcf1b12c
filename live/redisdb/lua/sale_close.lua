-- sale_close.lua: close a sale now (the host, an admin, or the room's end). Held orders may
-- still be paid until their deadline; units they return stay unsold.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- ARGV[1] room history length to keep
-- Returns {'ok', sale JSON} or {'not_found', ''}.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local now = now_ms()
local status = advance_sale(KEYS, maxlen, now)
if not status then return {'not_found', ''} end
if status ~= 'closed' then
  redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', now)
  close_waitlist(KEYS, redis.call('HGET', KEYS[1], 'sale_id'))
  local sale = sale_view(KEYS[1])
  emit_room_event(KEYS[5], KEYS[6], KEYS[7], maxlen,
    {type = 'sale_closed', sale_id = sale['sale_id'], sale = sale})
end
return {'ok', cjson.encode(sale_view(KEYS[1]))}
