-- media_relay_route.lua: where one worker pulls a room's video from (the relay tree).
-- KEYS[1] the room's media owner ({r:<room>}:media_owner): the origin worker's address
-- KEYS[2] the room's node relays ({r:<room>}:media_relays): hash, node id -> JSON
--         {"a": that node's relay worker's address, "p": the node it pulls from,
--          "u": when its lease ends, ms}
-- ARGV[1] this node's id
-- ARGV[2] this worker's address (JSON, as in the owner lease)
-- ARGV[3] the relay lease, ms (renewed by each call of the node's relay worker)
-- ARGV[4] most nodes one relay point feeds ([media] max_relay_children)
-- ARGV[5] most hops from the origin's node
-- Leases are measured on Redis's clock.
-- Returns {owner | false, role, parent address | false}:
--   "none": no worker holds the room; "origin": this worker does;
--   "local": pull from the worker named, on this node (the origin, or this node's relay);
--   "relay": this worker is its node's relay: pull from the one named, on another node
--   (the origin, or the relay of a node nearer to it).
-- A node pulls from the origin's node while that feeds fewer than ARGV[5] nodes, else
-- from the shallowest relay with room for one more (fewest children, then node id); a
-- node keeps its parent while the parent lives, and never pulls from its own subtree.
local owner = redis.call('GET', KEYS[1])
if not owner then
  return {false, 'none', false}
end
local me, address = ARGV[1], ARGV[2]
if owner == address then
  return {owner, 'origin', false}
end
local origin_node = ''
local decoded_ok, decoded = pcall(cjson.decode, owner)
if decoded_ok and type(decoded) == 'table' and type(decoded.node) == 'string' then
  origin_node = decoded.node
end
if origin_node == '' or origin_node == me then
  return {owner, 'local', owner}
end
local now, lease = now_ms(), tonumber(ARGV[3])
local max_children, max_depth = tonumber(ARGV[4]), tonumber(ARGV[5])

local function parse(raw)
  local ok, e = pcall(cjson.decode, raw)
  if ok and type(e) == 'table' and type(e.a) == 'string' and type(e.p) == 'string'
      and tonumber(e.u) then
    return e
  end
  return nil
end

local raw_mine = redis.call('HGET', KEYS[2], me)
local mine = raw_mine and parse(raw_mine)
if mine and mine.a ~= address and tonumber(mine.u) > now then
  return {owner, 'local', mine.a}
end

-- This worker is, or now becomes, its node's relay.
local entries = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local node, e = flat[i], parse(flat[i + 1])
  if e == nil or tonumber(e.u) <= now or node == origin_node then
    redis.call('HDEL', KEYS[2], node)
  elseif node ~= me then
    entries[node] = e
  end
end

-- Hops from the origin's node; nil when the chain is broken, too deep or passes through
-- this node (which has no entry here).
local function hops(node)
  local depth = 0
  while node ~= origin_node do
    local e = entries[node]
    if e == nil or depth >= max_depth then
      return nil
    end
    node = e.p
    depth = depth + 1
  end
  return depth
end

local children = {}
for _, e in pairs(entries) do
  children[e.p] = (children[e.p] or 0) + 1
end

local parent = mine and mine.p or nil
if parent ~= nil then
  local depth = hops(parent)
  if depth == nil or depth + 1 > max_depth then
    parent = nil
  end
end
if parent == nil then
  local best, best_hops, best_children = origin_node, 0, children[origin_node] or 0
  local full = best_children >= max_children
  for node, _ in pairs(entries) do
    local depth = hops(node)
    local count = children[node] or 0
    if depth ~= nil and depth + 1 <= max_depth and count < max_children then
      local better = full or depth < best_hops
        or (depth == best_hops and (count < best_children
          or (count == best_children and node < best)))
      if better then
        best, best_hops, best_children, full = node, depth, count, false
      end
    end
  end
  parent = best
end

redis.call('HSET', KEYS[2], me, cjson.encode({a = address, p = parent, u = now + lease}))
redis.call('PEXPIRE', KEYS[2], lease * 3)
local parent_address = owner
if parent ~= origin_node then
  parent_address = entries[parent].a
end
return {owner, 'relay', parent_address}
