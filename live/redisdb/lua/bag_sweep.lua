-- bag_sweep.lua: one sweep of one room's bag orders: holds past their deadline expire,
-- checkouts that never finished are given up, and the journal entries now due are handed
-- to the caller (who does their product steps and then deletes them). Any number of
-- workers may run it at once: each change checks the order's state first.
-- KEYS[1] the bag holds   KEYS[2] the bag journal   KEYS[3] the journal's due set
-- KEYS[4] the order records   KEYS[5] the room's channel   KEYS[6] the line-up stock hash
-- ARGV[1] the room's order key prefix   ARGV[2] most entries handled in one call
-- Keys built here, under the room's tag: ARGV[1] .. <order_id> for each due hold.
-- Returns {idle, field, JSON, field, JSON, ...}: idle 1 when nothing is held or owed.
-- include: _shop.lua
local now = now_ms()
local most = tonumber(ARGV[2])
for _, order_id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, most)) do
  local key = ARGV[1] .. order_id
  local raw = redis.call('GET', key)
  local order = raw and cjson.decode(raw)
  if order and order['status'] == 'held' and now >= tonumber(order['expires_at']) then
    order['status'] = 'expired'
    order['released_at'] = now
    order['v'] = (order['v'] or 0) + 1
    journal(KEYS[2], KEYS[3], order_id, 'release', numbered_lines(order), nil, now)
    bag_order_changed(key, KEYS[4], KEYS[5], order, now)
  end
  redis.call('ZREM', KEYS[1], order_id)
end
local out = {0}
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, most)) do
  local entry = redis.call('HGET', KEYS[2], field)
  if not entry then
    redis.call('ZREM', KEYS[3], field)
  elseif string.sub(field, -7) == ':intent' then
    -- The checkout never committed: from now on it cannot, and its units go back.
    local decoded = cjson.decode(entry)
    redis.call('HDEL', KEYS[2], field)
    redis.call('ZREM', KEYS[3], field)
    local released = journal(KEYS[2], KEYS[3], decoded['order_id'], 'release',
      decoded['lines'], nil, now)
    out[#out + 1] = released
    out[#out + 1] = redis.call('HGET', KEYS[2], released)
  else
    out[#out + 1] = field
    out[#out + 1] = entry
  end
end
if redis.call('HGET', KEYS[6], '_dirty') == '1' then publish_lineup_stock(KEYS[6], KEYS[5], now) end
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[3]) == 0 then out[1] = 1 end
return out
