-- room_event.lua: append one durable event to a room, or publish a latest-value one.
-- KEYS[1] the room's seq counter       ({r:<room>}:seq)
-- KEYS[2] the room's history stream    ({r:<room>}:history)
-- KEYS[3] the room's channel           ({r:<room>}:events)
-- ARGV[1] "durable" or "volatile"
-- ARGV[2] the event as JSON, without seq and ts
-- ARGV[3] history length to keep (approximate, at least this many)
-- Returns the event's seq (0 for volatile events).
local event = cjson.decode(ARGV[2])
if ARGV[1] == 'durable' then
  return emit_room_event(KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[3]), event)
end
emit_volatile(KEYS[3], event)
return 0
