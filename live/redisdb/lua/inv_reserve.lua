-- inv_reserve.lua: a checkout's lines of one stocked product (not made-to-order) reserved,
-- all or none: inv.lua's `reserve` with one read and one write of each hash (the hot path
-- of the bag). Keys and reservations as in inv.lua.
-- KEYS[1] the inventory hash    KEYS[2] the reservations hash
-- ARGV[1] the order id   ARGV[2] n, the number of lines
-- ARGV[3 .. 2+3n] the lines as triples: line index, variant key, qty
-- ARGV[3+3n ..] every variant key of the product (`_` without variants), so its
--               availability is read in the same call
-- Returns {code, availability JSON, extra} as inv.lua: ok, not_enough_left or gone (extra:
-- the line index).
local order_id, n = ARGV[1], tonumber(ARGV[2])
local first = 3 + 3 * n
local fields = {}
for i = 1, n do fields[i] = order_id .. ':' .. ARGV[3 * i] end
local states = redis.call('HMGET', KEYS[2], unpack(fields))
local names = {}
for i = first, #ARGV do
  local v = ARGV[i]
  names[#names + 1] = 's:' .. v
  names[#names + 1] = 'a:' .. v
  names[#names + 1] = 'h:' .. v
end
local found = redis.call('HMGET', KEYS[1], unpack(names))
local stocked, avail, held = {}, {}, {}
for k = 1, #ARGV - first + 1 do
  local v = ARGV[first + k - 1]
  stocked[v] = found[3 * k - 2] ~= false
  avail[v] = tonumber(found[3 * k - 1] or '0')
  held[v] = tonumber(found[3 * k] or '0')
end

-- The product's entry of the room's `lineup_stock` event (variant ids need no escaping).
local function availability()
  local total, parts = 0, {}
  for i = first, #ARGV do
    local v = ARGV[i]
    total = total + avail[v]
    if v ~= '_' then parts[#parts + 1] = '"' .. v .. '":' .. avail[v] end
  end
  if #parts == 0 then return '{"available":' .. total .. '}' end
  return '{"available":' .. total .. ',"variants":{' .. table.concat(parts, ',') .. '}}'
end

local need = {}
for i = 1, n do
  local raw, v = states[i], ARGV[3 * i + 1]
  if raw then
    -- Reserved before (a retried step): held or sold stays, anything else is gone.
    local state = string.sub(raw, 1, string.find(raw, '|', 1, true) - 1)
    if state ~= 'held' and state ~= 'sold' then return {'gone', availability(), ARGV[3 * i]} end
  else
    need[v] = (need[v] or 0) + tonumber(ARGV[3 * i + 2])
    if not stocked[v] or need[v] > avail[v] then
      return {'not_enough_left', availability(), ARGV[3 * i]}
    end
  end
end
if next(need) == nil then return {'ok', availability(), ''} end
local now = now_ms()
local res, inv = {}, {}
for i = 1, n do
  if not states[i] then
    local v, qty = ARGV[3 * i + 1], ARGV[3 * i + 2]
    res[#res + 1] = fields[i]
    res[#res + 1] = 'held|' .. v .. '|' .. qty .. '|' .. now
  end
end
for v, qty in pairs(need) do
  avail[v] = avail[v] - qty
  held[v] = held[v] + qty
  inv[#inv + 1] = 'a:' .. v
  inv[#inv + 1] = avail[v]
  inv[#inv + 1] = 'h:' .. v
  inv[#inv + 1] = held[v]
end
redis.call('HSET', KEYS[2], unpack(res))
redis.call('HSET', KEYS[1], unpack(inv))
return {'ok', availability(), ''}
