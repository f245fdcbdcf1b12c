-- bag_ack.lua: journal entries whose product steps are done are deleted, and the room
-- hears the new availability (coalesced, see _shop.lua).
-- KEYS[1] the bag journal   KEYS[2] the journal's due set   KEYS[3] the line-up stock hash
-- KEYS[4] the room's channel
-- ARGV[1] n, how many journal fields follow   ARGV[2..n+1] the fields
-- ARGV[n+2..] availability as pairs: sku, JSON {available, variants?, queue?} (none: none)
-- Returns how many entries were deleted.
-- include: _shop.lua
local n = tonumber(ARGV[1])
local done = 0
for i = 2, n + 1 do
  done = done + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
lineup_stock_changed(KEYS[3], KEYS[4], {unpack(ARGV, n + 2)}, now_ms())
return done
