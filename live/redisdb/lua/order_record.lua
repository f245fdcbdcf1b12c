-- order_record.lua: write order log entries into the room's durable order record, then
-- acknowledge them, atomically (an entry is acknowledged only once its record is written).
-- Entries may come twice or out of order (reclaimed from a dead consumer): a record only
-- moves forward, from held to a final status, and totals count each order once.
-- KEYS[1] the sale's order log stream     KEYS[2] the room's order index
-- KEYS[3] the room's order records        KEYS[4] the room's totals
-- KEYS[5] the room's paying buyers
-- ARGV[1] the consumer group   ARGV[2] ms the record is kept
-- ARGV[3], ARGV[4], ...: pairs of (entry id, order JSON)
-- Returns how many entries changed the record.
local RANK = {held = 0, paid = 1, cancelled = 1, expired = 1}
local applied = 0
for i = 3, #ARGV, 2 do
  local order = cjson.decode(ARGV[i + 1])
  local id = order['order_id']
  local prev_raw = redis.call('HGET', KEYS[3], id)
  local prev = prev_raw and cjson.decode(prev_raw)
  if not prev or RANK[order['status']] > RANK[prev['status']] then
    redis.call('HSET', KEYS[3], id, ARGV[i + 1])
    if not prev then
      redis.call('ZADD', KEYS[2], order['order_no'], id)
      redis.call('HINCRBY', KEYS[4], 'orders_placed', 1)
    end
    if order['status'] == 'paid' then
      redis.call('HINCRBY', KEYS[4], 'orders', 1)
      redis.call('HINCRBY', KEYS[4], 'units_sold', order['qty'])
      redis.call('HINCRBY', KEYS[4], 'gmv_cents', order['amount_cents'])
      redis.call('SADD', KEYS[5], order['user_id'])
    end
    applied = applied + 1
  end
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
end
for k = 2, 5 do
  if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
end
return applied
