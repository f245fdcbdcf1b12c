-- auction_bid.lua: one bid on an auction, every decision on Redis's clock in one script.
-- Safe to run twice: the idempotency key answers the first outcome and bids nothing more.
-- KEYS[1] the auction hash           ({r:<room>}:auction:<auction_id>)
-- KEYS[2] its idempotency hash       (`<user_id> <key>` -> `<fingerprint>|<answer JSON>`)
-- KEYS[3] its latest price changes   (list of JSON, newest first, the last 50)
-- KEYS[4] the room's seq counter, KEYS[5] its history stream, KEYS[6] its channel
-- KEYS[7] the room record (hash; an ended room takes no bids)
-- ARGV[1] room history length to keep   ARGV[2] user_id       ARGV[3] the bidder's name
-- ARGV[4] Idempotency-Key               ARGV[5] fingerprint   ARGV[6] amount_cents
-- ARGV[7] max_cents (>= amount)         ARGV[8] the new bid's id
-- Returns {'created', answer JSON}, {'replay', answer JSON} or {error code, detail}:
-- not_found, auction_ended, bid_too_low (detail: the least bid), idempotency_mismatch,
-- room_ended.
-- include: _auction.lua
local user, name = ARGV[2], ARGV[3]
local idem_field = user .. ' ' .. ARGV[4]
local prior = redis.call('HGET', KEYS[2], idem_field)
if prior then
  local sep = string.find(prior, '|', 1, true)
  if string.sub(prior, 1, sep - 1) ~= ARGV[5] then return {'idempotency_mismatch', ''} end
  return {'replay', string.sub(prior, sep + 1)}
end

local now = now_ms()
local a = redis.call('HMGET', KEYS[1], 'status', 'ends_at', 'start_cents', 'price_cents',
  'leader_id', 'leader_max', 'mode', 'extend_s', 'bids', 'auction_id', 'expire_at',
  'leader_name')
if not a[1] then return {'not_found', ''} end
if redis.call('HGET', KEYS[7], 'status') ~= 'open' then return {'room_ended', ''} end
local ends_at = tonumber(a[2])
-- Refused from the end on, whether or not the sweeper has ended it yet.
if a[1] ~= 'open' or now >= ends_at then return {'auction_ended', ''} end

local amount, top = tonumber(ARGV[6]), tonumber(ARGV[7])
local price, held = tonumber(a[4]), tonumber(a[6])
local leader = a[5]
if leader == '' then leader = nil end
local minimum = tonumber(a[3])
if leader then minimum = price + increment_for(price) end
if amount < minimum then return {'bid_too_low', tostring(minimum)} end

local new_price, new_leader, new_max = apply_bid(price, leader, held, user, amount, top)
-- Every accepted bid is numbered (leader raises too), so a ledger of answers replays.
local answer = {bid_id = ARGV[8], auction_id = a[10], leading = new_leader == user, at = now,
  bid_no = redis.call('HINCRBY', KEYS[1], 'accepted', 1)}
if leader == user then
  -- The leader raised its own max: nothing anyone else sees changes.
  redis.call('HSET', KEYS[1], 'leader_max', new_max)
else
  local extended = false
  if a[7] == 'standard' and ends_at - now < tonumber(a[8]) * 1000 then
    ends_at = now + tonumber(a[8]) * 1000
    extended = true
  end
  local leader_name = a[12]
  if new_leader == user then leader_name = name end
  local bids = tonumber(a[9]) + 1
  local increment = increment_for(new_price)
  redis.call('HSET', KEYS[1], 'price_cents', new_price, 'leader_id', new_leader,
    'leader_name', leader_name, 'leader_max', new_max, 'ends_at', ends_at, 'bids', bids,
    'increment_cents', increment, 'last_bid_at', now)
  local event = {type = 'bid', auction_id = a[10], bid_id = ARGV[8], price_cents = new_price,
    leader_id = new_leader, leader_name = leader_name, ends_at = ends_at,
    increment_cents = increment, bids = bids, extended = extended}
  local seq = emit_room_event(KEYS[4], KEYS[5], KEYS[6], ARGV[1], event)
  redis.call('LPUSH', KEYS[3], cjson.encode({seq = seq, price_cents = new_price,
    leader_name = leader_name, bidder_name = name, at = now, extended = extended}))
  redis.call('LTRIM', KEYS[3], 0, 49)
  if bids == 1 then redis.call('PEXPIREAT', KEYS[3], tonumber(a[11])) end
  answer['seq'] = seq
  answer['extended'] = extended
end
local current = redis.call('HMGET', KEYS[1], 'price_cents', 'leader_id', 'ends_at')
answer['price_cents'] = tonumber(current[1])
answer['leader_id'] = current[2]
answer['ends_at'] = tonumber(current[3])
answer['max_cents'] = top
local json = cjson.encode(answer)
redis.call('HSET', KEYS[2], idem_field, ARGV[5] .. '|' .. json)
if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIREAT', KEYS[2], tonumber(a[11])) end
return {'created', json}
