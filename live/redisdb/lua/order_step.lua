-- order_step.lua: one state transition of an order (pay, cancel, shipping, ship, deliver,
-- return, refund), decided by live/commerce/aftersale.py and applied here only if the order
-- is still what that decision read (same status and version): two racing steps from one
-- state never both apply. The product steps it owes are journaled with it.
-- KEYS[1] the order's key        KEYS[2] the room's order records   KEYS[3] the room's totals
-- KEYS[4] the bag journal        KEYS[5] the journal's due set      KEYS[6] the bag holds
-- KEYS[7] the room's channel     KEYS[8] the room's paying buyers   KEYS[9] the line-up stock
-- KEYS[10] a sale order's order log (a bag order: the records again, unused)
-- ARGV[1] the status read        ARGV[2] the version read (`v`, 0 when absent)
-- ARGV[3] the new order JSON     ARGV[4] a field to stamp with Redis's now ('' none)
-- ARGV[5] '1': refuse when the hold is over (and expire the order instead)
-- ARGV[6] journal op ('' none)   ARGV[7] its extra fields JSON ('{}')
-- ARGV[8] the lines for the journal JSON ('' = every line of the order)
-- ARGV[9] totals increments JSON ('{}')   ARGV[10] '1' leaves the holds
-- ARGV[11] '1' adds the buyer to the paying buyers
-- ARGV[12] '1' refuses an order with no shipping address (shipping_required)
-- ARGV[13] '1' for a sale order: its change goes to the sale's order log, KEYS[10]
-- Returns {'ok', JSON, journal field or ''} or {code, current JSON, ''}: bad_transition,
-- hold_expired, shipping_required, not_found.
-- include: _shop.lua
local raw = redis.call('GET', KEYS[1])
if not raw then return {'not_found', '', ''} end
local current = cjson.decode(raw)
if current['status'] ~= ARGV[1] or tostring(current['v'] or 0) ~= ARGV[2] then
  return {'bad_transition', raw, ''}
end
local now = now_ms()
local log_key = ARGV[13] == '1' and KEYS[10] or nil
if ARGV[5] == '1' and now >= tonumber(current['expires_at']) then
  current['status'] = 'expired'
  current['released_at'] = now
  current['v'] = (current['v'] or 0) + 1
  redis.call('ZREM', KEYS[6], current['order_id'])
  local field = journal(KEYS[4], KEYS[5], current['order_id'], 'release',
    numbered_lines(current), nil, now)
  return {'hold_expired', bag_order_changed(KEYS[1], KEYS[2], KEYS[7], current, now), field}
end
if ARGV[12] == '1' and (current['shipping'] == nil or current['shipping'] == cjson.null) then
  return {'shipping_required', raw, ''}
end
local order = cjson.decode(ARGV[3])
order['v'] = (current['v'] or 0) + 1
if ARGV[4] ~= '' then order[ARGV[4]] = now end
local field = ''
if ARGV[6] ~= '' then
  local lines = ARGV[8] ~= '' and cjson.decode(ARGV[8]) or numbered_lines(order)
  field = journal(KEYS[4], KEYS[5], order['order_id'], ARGV[6], lines, cjson.decode(ARGV[7]), now)
end
for name, by in pairs(cjson.decode(ARGV[9])) do redis.call('HINCRBY', KEYS[3], name, by) end
if ARGV[10] == '1' then redis.call('ZREM', KEYS[6], order['order_id']) end
if ARGV[11] == '1' then redis.call('SADD', KEYS[8], order['user_id']) end
return {'ok', bag_order_changed(KEYS[1], KEYS[2], KEYS[7], order, now, log_key), field}
