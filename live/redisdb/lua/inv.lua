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
-- Returns {code, counts JSON, extra JSON}: code ok, or not_enough_left / gone with the
-- line index as extra, or stock_below_held.
local op = ARGV[1]

local function counts()
  local raw = redis.call('HGETALL', KEYS[1])
  local out = {}
  for i = 1, #raw, 2 do
    local kind, v = string.match(raw[i], '^(%a):(.+)$')
    if kind then
      out[v] = out[v] or {}
      out[v][kind] = tonumber(raw[i + 1])
    end
  end
  return cjson.encode(out)
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
  return {'ok', counts(), ''}
end

if op == 'stock' then
  local v, stock = ARGV[2], tonumber(ARGV[3])
  local taken = num('h:' .. v) + num('d:' .. v)
  if stock < taken then return {'stock_below_held', counts(), tostring(taken)} end
  redis.call('HSET', KEYS[1], 's:' .. v, stock, 'a:' .. v, stock - taken)
  return {'ok', counts(), ''}
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

if op == 'positions' then return {'ok', counts(), cjson.encode(positions())} end

if op == 'reserve' then
  local need = {}
  for _, line in ipairs(lines) do
    local state = state_of(line)
    if state and state ~= 'held' and state ~= 'sold' then return {'gone', counts(), line.idx} end
    if not state and not mto then
      need[line.v] = (need[line.v] or 0) + line.qty
      if redis.call('HEXISTS', KEYS[1], 's:' .. line.v) == 0 or num('a:' .. line.v) < need[line.v] then
        return {'not_enough_left', counts(), line.idx}
      end
    end
  end
  local now = now_ms()
  for _, line in ipairs(lines) do
    if not state_of(line) then
      set_state(line, 'held', now)
      add('h', line.v, line.qty)
      if mto then
        redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[1], 'qseq', 1), line.field)
      else
        add('a', line.v, -line.qty)
      end
    end
  end
  return {'ok', counts(), cjson.encode(positions())}
end

if op == 'settle' then
  for _, line in ipairs(lines) do
    local state = state_of(line)
    if state ~= 'held' and state ~= 'sold' then return {'gone', counts(), line.idx} end
  end
  for _, line in ipairs(lines) do
    if state_of(line) == 'held' then
      set_state(line, 'sold')
      add('h', line.v, -line.qty)
      add('d', line.v, line.qty)
    end
  end
  return {'ok', counts(), ''}
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
  return {'ok', counts(), ''}
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
  return {'ok', counts(), ''}
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
  return {'ok', counts(), ''}
end

return {'bad_op', '', ''}
