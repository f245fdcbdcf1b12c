-- inv.lua: one product's inventory (the shop's units; flash sales keep their own). Every
-- key is under the product's tag {p:<sku}, so a bag line touches one Cluster slot.
-- KEYS[1] the inventory hash: per variant key v (`_` without variants) `s:v` stock,
--         `a:v` available, `h:v` held, `d:v` sold, `x:v` shipped (made-to-order), and
--         `qseq` the queue's counter.      Always s:v == a:v + h:v + d:v.
-- KEYS[2] the reservations hash: `<order_id>:<line>` -> `state|v|qty|placed_ms`, state
--         held, sold, released, refunded or shipped. A release of an unknown line leaves a
--         `released` tombstone, so a reservation arriving late can never take units.
-- KEYS[3] the made-to-order queue (sorted set `<order_id>:<line>` by arrival)
-- ARGV[1] op: reserve | settle | release | refund | ship | stock | init | positions
-- ARGV[2] the order id (reserve .. ship, positions), the variant key (stock)
-- ARGV[3] '1' for a made-to-order product (reserve, release, refund, ship, positions);
--         for refund also ARGV[4] '1' to put the units back on the shelf; for stock the
--         new stock figure.
-- ARGV[5..] lines as triples: line index, variant key, qty (init: pairs v, stock from
--         ARGV[2])
-- Returns {code, availability, extra}: code ok, or not_enough_left / gone with the line
-- index as extra, or stock_below_held (the units taken as extra); availability is the
-- product's entry of the room's `lineup_stock` event as it now is, JSON
-- {"available", "variants"?: {v: n}, "queue"?} (put together here from the counts, so the
-- caller passes it on as it is); extra for positions and a made-to-order reserve is JSON.
local op = ARGV[1]

-- Variant ids match [a-z0-9-]{1,32} (live/commerce/inventory.py): no JSON escaping needed.
local function availability()
  local raw = redis.call('HGETALL', KEYS[1])
  if #raw == 0 then return '' end
  local total, queue, stocked, variants = 0, 0, false, {}
  for i = 1, #raw, 2 do
    local kind, v = string.match(raw[i], '^(%a):(.+)$')
    local n = tonumber(raw[i + 1])
    if kind == 'a' then
      total = total + n
      if v ~= '_' then variants[#variants + 1] = '"' .. v .. '":' .. n end
    elseif kind == 'h' or kind == 'd' then
      queue = queue + n
    elseif kind == 'x' then
      queue = queue - n
    elseif kind == 's' and n ~= 0 then
      stocked = true
    end
  end
  local out = '{"available":' .. total
  if #variants > 0 then out = out .. ',"variants":{' .. table.concat(variants, ',') .. '}' end
  if not stocked and queue ~= 0 then out = out .. ',"queue":' .. queue end
  return out .. '}'
end

local function num(field)
  return tonumber(redis.call('HGET', KEYS[1], field) or '0')
end

if op == 'init' then
  for i = 2, #ARGV, 2 do
    local v = ARGV[i]
    if redis.call('HSETNX', KEYS[1], 's:' .. v, ARGV[i + 1]) == 1 then
      redis.call('HSET', KEYS[1], 'a:' .. v, ARGV[i + 1], 'h:' .. v, 0, 'd:' .. v, 0)
    end
  end
  return {'ok', availability(), ''}
end

if op == 'stock' then
  local v, stock = ARGV[2], tonumber(ARGV[3])
  local taken = num('h:' .. v) + num('d:' .. v)
  if stock < taken then return {'stock_below_held', availability(), tostring(taken)} end
  redis.call('HSET', KEYS[1], 's:' .. v, stock, 'a:' .. v, stock - taken)
  return {'ok', availability(), ''}
end

local order_id = ARGV[2]
local mto = ARGV[3] == '1'
local lines = {}
for i = 5, #ARGV, 3 do
  lines[#lines + 1] = {idx = ARGV[i], v = ARGV[i + 1], qty = tonumber(ARGV[i + 2]),
    field = order_id .. ':' .. ARGV[i]}
end
local function state_of(line)
  local raw = redis.call('HGET', KEYS[2], line.field)
  if not raw then return nil end
  return string.match(raw, '^(%a+)|')
end
local function set_state(line, state, placed)
  if not placed then
    local raw = redis.call('HGET', KEYS[2], line.field)
    placed = raw and string.match(raw, '|(%d+)$') or now_ms()
  end
  redis.call('HSET', KEYS[2], line.field, state .. '|' .. line.v .. '|' .. line.qty .. '|' .. placed)
end
local function add(kind, v, n) redis.call('HINCRBY', KEYS[1], kind .. ':' .. v, n) end

-- queue position (units before the line + 1) and the line's last unit, per line
local function positions()
  local out = {}
  if not mto then return out end
  local wanted = {}
  for _, line in ipairs(lines) do wanted[line.field] = line.idx end
  local ahead = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local raw = redis.call('HGET', KEYS[2], member)
    local qty = raw and tonumber(string.match(raw, '^%a+|[^|]*|(%d+)|')) or 0
    if wanted[member] then
      local placed = tonumber(string.match(raw, '|(%d+)$'))
      out[wanted[member]] = {ahead + 1, ahead + qty, placed}
    end
    ahead = ahead + qty
  end
  return out
end

if op == 'positions' then return {'ok', availability(), cjson.encode(positions())} end

if op == 'reserve' then
  -- One read of every line's reservation and of the variants' counts, one write of each.
  local fields = {}
  for i, line in ipairs(lines) do fields[i] = line.field end
  local states = redis.call('HMGET', KEYS[2], unpack(fields))
  local wanted, variants = {}, {}
  for i, line in ipairs(lines) do
    line.state = states[i] and string.match(states[i], '^(%a+)|')
    if line.state and line.state ~= 'held' and line.state ~= 'sold' then
      return {'gone', availability(), line.idx}
    end
    if not line.state and not wanted[line.v] then
      wanted[line.v] = true
      variants[#variants + 1] = line.v
    end
  end
  if #variants == 0 then return {'ok', availability(), mto and cjson.encode(positions()) or ''} end
  local names = {}
  for _, v in ipairs(variants) do
    names[#names + 1] = 's:' .. v
    names[#names + 1] = 'a:' .. v
    names[#names + 1] = 'h:' .. v
  end
  local found = redis.call('HMGET', KEYS[1], unpack(names))
  local stocked, avail, held = {}, {}, {}
  for k, v in ipairs(variants) do
    stocked[v] = found[3 * k - 2] ~= false
    avail[v] = tonumber(found[3 * k - 1] or '0')
    held[v] = tonumber(found[3 * k] or '0')
  end
  local need = {}
  for _, line in ipairs(lines) do
    if not line.state and not mto then
      need[line.v] = (need[line.v] or 0) + line.qty
      if not stocked[line.v] or need[line.v] > avail[line.v] then
        return {'not_enough_left', availability(), line.idx}
      end
    end
  end
  local now = now_ms()
  local res, inv = {}, {}
  for _, line in ipairs(lines) do
    if not line.state then
      res[#res + 1] = line.field
      res[#res + 1] = 'held|' .. line.v .. '|' .. line.qty .. '|' .. now
      held[line.v] = held[line.v] + line.qty
      if mto then
        redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[1], 'qseq', 1), line.field)
      else
        avail[line.v] = avail[line.v] - line.qty
      end
    end
  end
  for _, v in ipairs(variants) do
    inv[#inv + 1] = 'h:' .. v
    inv[#inv + 1] = held[v]
    if not mto then
      inv[#inv + 1] = 'a:' .. v
      inv[#inv + 1] = avail[v]
    end
  end
  redis.call('HSET', KEYS[2], unpack(res))
  redis.call('HSET', KEYS[1], unpack(inv))
  return {'ok', availability(), mto and cjson.encode(positions()) or ''}
end

if op == 'settle' then
  for _, line in ipairs(lines) do
    local state = state_of(line)
    if state ~= 'held' and state ~= 'sold' then return {'gone', availability(), line.idx} end
  end
  for _, line in ipairs(lines) do
    if state_of(line) == 'held' then
      set_state(line, 'sold')
      add('h', line.v, -line.qty)
      add('d', line.v, line.qty)
    end
  end
  return {'ok', availability(), ''}
end

if op == 'release' then
  for _, line in ipairs(lines) do
    local state = state_of(line)
    if state == 'held' or state == 'sold' then
      add(state == 'held' and 'h' or 'd', line.v, -line.qty)
      if not mto then add('a', line.v, line.qty) end
      redis.call('ZREM', KEYS[3], line.field)
    end
    if state == nil or state == 'held' or state == 'sold' then set_state(line, 'released') end
  end
  return {'ok', availability(), ''}
end

if op == 'refund' then
  local restock = ARGV[4] == '1'
  for _, line in ipairs(lines) do
    local state = state_of(line)
    if state == 'sold' or state == 'shipped' then
      if mto then
        add('d', line.v, -line.qty)
        if state == 'shipped' then add('x', line.v, -line.qty) end
        redis.call('ZREM', KEYS[3], line.field)
      elseif restock then
        add('d', line.v, -line.qty)
        add('a', line.v, line.qty)
      end
      set_state(line, 'refunded')
    end
  end
  return {'ok', availability(), ''}
end

if op == 'ship' then
  for _, line in ipairs(lines) do
    if state_of(line) == 'sold' then
      if mto then
        add('x', line.v, line.qty)
        redis.call('ZREM', KEYS[3], line.field)
      end
      set_state(line, 'shipped')
    end
  end
  return {'ok', availability(), ''}
end

return {'bad_op', '', ''}
