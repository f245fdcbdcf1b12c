-- auction_create.lua: open an auction in a room.
-- KEYS[1] the auction hash          ({r:<room>}:auction:<auction_id>)
-- KEYS[2] the room's auction index  ({r:<room>}:auctions, zset auction_id -> created ms)
-- KEYS[3] the room record (hash)    ({r:<room>}:room)
-- KEYS[4] the room's seq counter, KEYS[5] its history stream, KEYS[6] its channel
-- ARGV[1] room history length to keep
-- ARGV[2] the auction's fixed fields as JSON (auction_id, room_id, sku, variant_id, title,
--         currency, mode, start_cents, reserve_cents, extend_s, hold_s)
-- ARGV[3] duration ms, ARGV[4] ms the auction is kept after its end
-- Returns {'ok', auction JSON} or {'room_ended', ''}.
-- include: _auction.lua
if redis.call('HGET', KEYS[3], 'status') ~= 'open' then return {'room_ended', ''} end
local fields = cjson.decode(ARGV[2])
local now = now_ms()
local ends_at = now + tonumber(ARGV[3])
local expire_at = ends_at + tonumber(ARGV[4])
local args = {'status', 'open', 'price_cents', fields['start_cents'], 'bids', 0,
  'increment_cents', increment_for(tonumber(fields['start_cents'])), 'leader_id', '',
  'leader_name', '', 'leader_max', 0, 'created_at', now, 'ends_at', ends_at,
  'expire_at', expire_at}
for name, value in pairs(fields) do
  if value ~= cjson.null then
    args[#args + 1] = name
    args[#args + 1] = value
  end
end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('PEXPIREAT', KEYS[1], expire_at)
redis.call('ZADD', KEYS[2], now, fields['auction_id'])
redis.call('PEXPIREAT', KEYS[2], expire_at, 'NX')
redis.call('PEXPIREAT', KEYS[2], expire_at, 'GT')
local raw = redis.call('HGETALL', KEYS[1])
local auction = {}
for i = 1, #raw, 2 do auction[raw[i]] = raw[i + 1] end
auction['leader_max'] = nil
auction['expire_at'] = nil
for _, name in ipairs({'start_cents', 'price_cents', 'increment_cents', 'reserve_cents',
    'extend_s', 'bids', 'ends_at', 'created_at'}) do
  auction[name] = tonumber(auction[name])
end
emit_room_event(KEYS[4], KEYS[5], KEYS[6], ARGV[1],
  {type = 'auction_open', auction_id = fields['auction_id'], auction = auction})
return {'ok', cjson.encode(auction)}
