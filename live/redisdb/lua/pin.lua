-- pin.lua: pin a product of the room's line-up (with its card), or unpin.
-- KEYS[1] the room's seq counter      ({r:<room>}:seq)
-- KEYS[2] the room's history stream   ({r:<room>}:history)
-- KEYS[3] the room's channel          ({r:<room>}:events)
-- KEYS[4] the room record (hash)      ({r:<room>}:room)
-- KEYS[5] the room's line-up (zset)   ({r:<room>}:lineup)
-- KEYS[6] the pinned card             ({r:<room>}:pinned)
-- KEYS[7] the line-up's cards (hash)  ({r:<room>}:cards) sku -> product card JSON, copied
--         from the catalog when the product joined the line-up (the room's slot only)
-- ARGV[1] "pin" or "unpin", ARGV[2] sku, ARGV[3] history length to keep
-- Returns {"ok", seq} or {code}: room_ended, not_in_lineup, not_found, not_pinned.
if redis.call('HGET', KEYS[4], 'status') ~= 'open' then
  return {'room_ended'}
end
if ARGV[1] == 'unpin' then
  if redis.call('DEL', KEYS[6]) == 0 then
    return {'not_pinned'}
  end
  return {'ok', emit_room_event(KEYS[1], KEYS[2], KEYS[3], ARGV[3], {type = 'unpin'})}
end
if not redis.call('ZSCORE', KEYS[5], ARGV[2]) then
  return {'not_in_lineup'}
end
local raw = redis.call('HGET', KEYS[7], ARGV[2])
if not raw then
  return {'not_found'}
end
local product = cjson.decode(raw)
redis.call('SET', KEYS[6], raw)
return {'ok', emit_room_event(KEYS[1], KEYS[2], KEYS[3], ARGV[3], {type = 'pin', product = product})}
