-- media_relays_read.lua: the nodes pulling a room and where each pulls from.
-- KEYS[1] the room's node relays ({r:<room>}:media_relays): hash, node id -> JSON
--         {"a": relay worker's address, "p": parent node, "u": lease end ms}
-- Returns a flat list: node id, JSON, ... (lapsed leases left out; Redis's clock).
local now = now_ms()
local flat = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #flat, 2 do
  local ok, e = pcall(cjson.decode, flat[i + 1])
  if ok and type(e) == 'table' and tonumber(e.u) and tonumber(e.u) > now then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
return out
