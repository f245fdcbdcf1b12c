-- lineup_add.lua: add a product to a room's line-up unless the line-up is full, checked
-- and written in one step (so concurrent adds can never pass [rooms] max_lineup), and
-- copy its card into the room's keys (a pin reads it on the room's own slot).
-- KEYS[1] the room's line-up (zset)   ({r:<room>}:lineup): sku -> when it was added (ms)
-- KEYS[2] the room's product cards (hash) ({r:<room>}:cards): sku -> card JSON
-- ARGV[1] sku
-- ARGV[2] the time it is added, ms (its score: the line-up keeps the order of adding)
-- ARGV[3] the most products a line-up may hold ([rooms] max_lineup)
-- ARGV[4] seconds the line-up lives ([rooms] idle_retention_s, as the room)
-- ARGV[5] the product's card (JSON); adding again refreshes the copy
-- Returns {"ok", sku, sku, ...} (the line-up, oldest first; adding a sku already there
-- changes nothing but the card) or {"lineup_full"}.
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return {'lineup_full'}
  end
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local answer = redis.call('ZRANGE', KEYS[1], 0, -1)
table.insert(answer, 1, 'ok')
return answer
