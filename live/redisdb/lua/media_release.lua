-- media_release.lua: give up a room's media if this process still holds it.
-- KEYS[1] the room's media owner ({r:<room>}:media_owner)
-- ARGV[1] this process's internal address
-- Returns 1 when released, 0 when another process holds it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
