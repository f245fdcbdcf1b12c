-- presence_read.lua: the viewer total of one room, counting live processes only.
-- KEYS[1] the room's presence hash    ({r:<room>}:presence)
-- Returns the total.
local now = now_ms()
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 1) ~= '_' then
    local count, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if count and tonumber(expires) > now then
      total = total + tonumber(count)
    end
  end
end
return total
