-- _shop.lua: helpers of the bag scripts, included after _lib.lua (`-- include: _shop.lua`).

-- Publish the room's line-up availability (every product the bag has touched) as one
-- latest-value `lineup_stock` event, put together from the stored JSON of each product as
-- it is (no decoding and encoding again).
local function publish_stored_stock(stock_key, channel, now)
  local raw = redis.call('HGETALL', stock_key)
  local products = {}
  for i = 1, #raw, 2 do
    if string.sub(raw[i], 1, 1) ~= '_' then
      products[#products + 1] = cjson.encode(raw[i]) .. ':' .. raw[i + 1]
    end
  end
  -- Through _lib.lua's helper, so every publish of a room goes one way.
  publish_room(channel, '{"type":"lineup_stock","products":{' .. table.concat(products, ',')
    .. '},"ts":' .. now .. '}')
end

local function publish_lineup_stock(stock_key, channel, now)
  redis.call('HSET', stock_key, '_at', now, '_dirty', 0)
  publish_stored_stock(stock_key, channel, now)
end

-- Record new availability (`updates`: a flat list sku, JSON {available, variants?,
-- queue?}, sku, JSON, ...) in one write and publish it at most every LINEUP_STOCK_EVERY_MS
-- per room; the sweep publishes what was held back.
local LINEUP_STOCK_EVERY_MS = 100
local function lineup_stock_changed(stock_key, channel, updates, now)
  if #updates == 0 then return end
  local at = tonumber(redis.call('HGET', stock_key, '_at') or '0')
  if now - at >= LINEUP_STOCK_EVERY_MS then
    redis.call('HSET', stock_key, '_at', now, '_dirty', 0, unpack(updates))
    publish_stored_stock(stock_key, channel, now)
  else
    redis.call('HSET', stock_key, '_dirty', 1, unpack(updates))
  end
end

-- Whether `key`'s expiry must be set to `keep` ms again: it has none, or it has run down
-- by more than a minute (or a tenth of `keep`). Reading it costs less than rewriting it
-- (a write, which goes to the append-only file) on every order.
local function needs_keep_alive(key, keep)
  local ttl = redis.call('PTTL', key)
  return ttl < 0 or ttl < keep - math.min(60000, keep / 10)
end

-- The order changed: keep it, its durable record, and tell its buyer (and the host). A sale
-- order's record is written by its sale's log consumer (order_record.lua), so its change
-- goes to that log (`log_key`) instead, in order after its earlier entries.
local function bag_order_changed(order_key, records_key, channel, order, now, log_key)
  local json = cjson.encode(order)
  redis.call('SET', order_key, json, 'KEEPTTL')
  if log_key then
    redis.call('XADD', log_key, '*', 'o', json)
  else
    redis.call('HSET', records_key, order['order_id'], json)
  end
  emit_volatile(channel, {type = 'order', to = order['user_id'], order = order})
  return json
end

-- Journal the product steps an order still owes (done by the caller at once, or by the
-- sweeper at `due`): `op` release, refund or ship, over `lines` ({i, sku, variant_id, qty,
-- made_to_order}).
local function journal(journal_key, due_key, order_id, op, lines, extra, due)
  local entry = {op = op, order_id = order_id, lines = lines}
  for name, value in pairs(extra or {}) do entry[name] = value end
  local field = order_id .. ':' .. op
  redis.call('HSET', journal_key, field, cjson.encode(entry))
  redis.call('ZADD', due_key, due, field)
  return field
end

-- Every line of an order, numbered (zero-based) for the journal.
local function numbered_lines(order)
  local out = {}
  for k, line in ipairs(order['lines']) do
    out[#out + 1] = {i = k - 1, sku = line['sku'], variant_id = line['variant_id'],
      qty = line['qty'], made_to_order = line['made_to_order']}
  end
  return out
end
