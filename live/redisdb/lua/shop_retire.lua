-- shop_retire.lua: a room leaves the shop sweep list only if no checkout touched it since
-- the sweeper looked (a checkout raises its score), so no hold is ever left untended.
-- KEYS[1] the shop's sweep list (zset room_id -> last checkout ms)
-- ARGV[1] the room id   ARGV[2] the score the sweeper saw
-- Returns 1 when the room left the list.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
