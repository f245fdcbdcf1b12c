-- media_relay_leave.lua: a node's relay worker stops pulling a room (its viewers left).
-- KEYS[1] the room's node relays ({r:<room>}:media_relays): hash, node id -> JSON
-- ARGV[1] this node's id
-- ARGV[2] this worker's address (JSON)
-- Removes the node's entry only while this worker holds it, so another worker of the node
-- (or, past it, the node's children) takes the room over at once. Returns 1 if removed.
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  return 0
end
local ok, e = pcall(cjson.decode, raw)
if ok and type(e) == 'table' and e.a == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
