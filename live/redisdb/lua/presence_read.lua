-- presence_read.lua: the viewer total of one room, counting live processes only.
-- KEYS[1] the room's presence hash    ({r:<room>}:presence)
-- Returns the total.
return live_viewers(KEYS[1], now_ms(), false)
