-- sale_create.lua: create a flash sale, scheduled or open at once.
-- KEYS[1..7] the sale's keys and the room's event keys (see _sale.lua)
-- KEYS[8] the room's sales index ({r:<room>}:sales)
-- KEYS[9] the room's order number counter
-- ARGV[1] room history length to keep
-- ARGV[2] the sale's fixed fields as JSON (sale_id, room_id, sku, title, currency,
--         price_cents, stock, per_buyer_limit, hold_s, offer_s)
-- ARGV[3] ms until the start (0: open now), ARGV[4] duration ms,
-- ARGV[5] ms the sale and its orders are kept after its end, ARGV[6] the log's group name
-- Returns the sale as JSON.
-- include: _sale.lua
local maxlen = tonumber(ARGV[1])
local fields = cjson.decode(ARGV[2])
local now = now_ms()
local starts_at = now + tonumber(ARGV[3])
local ends_at = starts_at + tonumber(ARGV[4])
local expire_at = ends_at + tonumber(ARGV[5])
local status = 'scheduled'
if tonumber(ARGV[3]) == 0 then status = 'open' end
local args = {'left', fields['stock'], 'held', 0, 'sold', 0, 'offered', 0, 'waiting', 0,
  'status', status,
  'created_at', now, 'starts_at', starts_at, 'ends_at', ends_at, 'expire_at', expire_at}
for name, value in pairs(fields) do
  args[#args + 1] = name
  args[#args + 1] = value
end
redis.call('HSET', KEYS[1], unpack(args))
redis.call('PEXPIREAT', KEYS[1], expire_at)
redis.call('XGROUP', 'CREATE', KEYS[4], ARGV[6], '0', 'MKSTREAM')
redis.call('PEXPIREAT', KEYS[4], expire_at)
redis.call('ZADD', KEYS[8], now, fields['sale_id'])
keep_until(KEYS[8], expire_at)
redis.call('SET', KEYS[9], 0, 'NX')
keep_until(KEYS[9], expire_at)
local sale = sale_view(KEYS[1])
if status == 'open' then
  emit_room_event(KEYS[5], KEYS[6], KEYS[7], maxlen,
    {type = 'sale_open', sale_id = fields['sale_id'], sale = sale})
end
return cjson.encode(sale_view(KEYS[1]))
