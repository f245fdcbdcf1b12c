-- likes.lua: add the likes one process collected during a tick and publish the total.
-- KEYS[1] the room's like counter     ({r:<room>}:likes)
-- KEYS[2] the room's channel          ({r:<room>}:events)
-- ARGV[1] likes to add
-- Returns the room's total.
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
emit_volatile(KEYS[2], {type = 'likes', count = total})
return total
