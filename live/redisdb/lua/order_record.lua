-- order_record.lua: one consumer of a sale's order log takes a batch of entries and writes
-- them into the room's durable order record, acknowledging each in the same script (an
-- entry is acknowledged only once its record is written, and never left half done).
-- Entries may come twice or out of order (taken over from a consumer that died): a record
-- only moves forward, from held to a final status, and totals count each order once.
-- KEYS[1] the sale's order log stream     KEYS[2] the room's order index
-- KEYS[3] the room's order records        KEYS[4] the room's totals
-- KEYS[5] the room's paying buyers
-- ARGV[1] the consumer group     ARGV[2] ms the record is kept
-- ARGV[3] this consumer's name   ARGV[4] most entries to take
-- ARGV[5] "new" (entries never delivered) or "claim" (entries another consumer left
--         unacknowledged for ARGV[6] ms)
-- ARGV[7] the prefix of a buyer's orders in the room (`{r:<room>}:buyer:`): each new order
--         joins its buyer's sorted set `ARGV[7] .. user_id` (by created_at), which
--         `GET /api/me/orders` reads
-- Keys built here, under the room's tag: ARGV[7] .. <user_id> for each new order's buyer.
-- Returns {how many entries were taken, then for each buyer with a new order: user id,
-- the order's created_at, ...}: the caller lists the room among each buyer's rooms (a key
-- of another slot).
-- After-sale statuses (written by order_step.lua) rank above paid, so a late log entry
-- never takes a shipped or refunded record back.
local RANK = {held = 0, paid = 1, cancelled = 1, expired = 1, shipped = 2, delivered = 3,
  return_requested = 4, partly_refunded = 5, refunded = 6}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local entries
if ARGV[5] == 'claim' then
  entries = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[3], ARGV[6], '0-0',
    'COUNT', ARGV[4])[2]
else
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[3], 'COUNT', ARGV[4],
    'STREAMS', KEYS[1], '>')
  entries = reply and reply[1][2] or {}
end
-- Counters are added and entries acknowledged once per batch: fewer writes per order.
local placed = 0
local ids = {}
local buyers, new_buyers = {}, {}
local out = {0}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  local json = fields and fields[2]
  if json then
    local order = cjson.decode(json)
    local id = order['order_id']
    local prev_raw = redis.call('HGET', KEYS[3], id)
    local prev = prev_raw and cjson.decode(prev_raw)
    if not prev or RANK[order['status']] > RANK[prev['status']] then
      redis.call('HSET', KEYS[3], id, json)
      if not prev then
        redis.call('ZADD', KEYS[2], order['order_no'], id)
        placed = placed + 1
        local user, at = order['user_id'], order['created_at'] or 0
        redis.call('ZADD', ARGV[7] .. user, at, id)
        if not buyers[user] then
          buyers[user] = true
          new_buyers[#new_buyers + 1] = user
          out[#out + 1] = user
          out[#out + 1] = at
        end
      end
      if order['status'] == 'paid' then
        redis.call('HINCRBY', KEYS[4], 'orders', 1)
        redis.call('HINCRBY', KEYS[4], 'units_sold', order['qty'])
        redis.call('HINCRBY', KEYS[4], 'gmv_cents', order['amount_cents'])
        redis.call('SADD', KEYS[5], order['user_id'])
      end
    end
  end
  ids[#ids + 1] = entry[1]
end
if placed > 0 then redis.call('HINCRBY', KEYS[4], 'orders_placed', placed) end
if #ids > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)) end
if #entries > 0 then
  for k = 2, 5 do
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
  end
  for _, user in ipairs(new_buyers) do redis.call('PEXPIRE', ARGV[7] .. user, ARGV[2]) end
end
out[1] = #entries
return out
