-- bag_checkout.lua: a whole bag checkout in one script, where every key of it may be
-- touched by one script (one Redis server; on a cluster, only when the room's keys and
-- every product's share a slot). It runs the stepped path's own scripts in the stepped
-- path's order, each composed in here as a local function of (KEYS, ARGV) (see
-- live/redisdb/scripts.py, `-- part:` lines): begin, every product's reserve, then the
-- commit; when a product is short, every product's release and the ack of the intent, as
-- the caller of the stepped path does them. So the rules live once, in the parts.
-- part: bag_begin.lua 7
-- part: inv_reserve.lua 2
-- part: inv.lua 3
-- part: bag_commit.lua 12
-- part: bag_ack.lua 4
-- KEYS[1..7] bag_begin.lua's KEYS[1..7]   KEYS[8..19] bag_commit.lua's KEYS[1..12]
-- KEYS[20 + 3(j-1) .. 22 + 3(j-1)] product j's inv.lua KEYS[1..3] (inventory,
--         reservations, made-to-order queue); inv_reserve.lua gets the first two
-- ARGV[1] p, the number of products   ARGV[2] b, the number of bag_begin.lua's arguments
-- ARGV[3 .. 2+b] bag_begin.lua's ARGV (its ARGV[4] is the order id)
-- ARGV[3+b .. 11+b] bag_commit.lua's ARGV[1..9] (its availability pairs are added here)
-- ARGV[12+b ..] per product: its sku, m, then m arguments: inv_reserve.lua's ARGV
-- Returns {'begin', code, detail} when bag_begin.lua did not answer ok (its reply);
-- {'short', line index, the product's availability JSON} when a line is short (nothing is
-- left taken: every product was released and the intent acknowledged); otherwise
-- bag_commit.lua's reply.
-- include: _shop.lua
local function slice(list, from, to)
  local out = {}
  for i = from, to do out[#out + 1] = list[i] end
  return out
end

local p, b = tonumber(ARGV[1]), tonumber(ARGV[2])
local begin_keys, commit_keys = slice(KEYS, 1, 7), slice(KEYS, 8, 19)
local begin_args = slice(ARGV, 3, 2 + b)
local commit_args = slice(ARGV, 3 + b, 11 + b)
local order_id = begin_args[4]

local begun = bag_begin(begin_keys, begin_args)
if begun[1] ~= 'ok' then return {'begin', begun[1], begun[2]} end

local products, at = {}, 12 + b
for j = 1, p do
  local m = tonumber(ARGV[at + 1])
  local k = 20 + 3 * (j - 1)
  products[j] = {sku = ARGV[at], keys = {KEYS[k], KEYS[k + 1], KEYS[k + 2]},
    args = slice(ARGV, at + 2, at + 1 + m)}
  at = at + 2 + m
end

-- Every product's reserve, as the stepped path sends them all at once; the shortest
-- line index of the products that refused is the one answered.
local short, short_entry = nil, nil
for _, product in ipairs(products) do
  product.reply = inv_reserve({product.keys[1], product.keys[2]}, product.args)
  if product.reply[1] ~= 'ok' then
    local index = tonumber(product.reply[3])
    if not short or index < short then short, short_entry = index, product.reply[2] end
  end
end

-- The stepped path's undo: every line released on its product (inv.lua), then the
-- journal entry acknowledged with the new availability (bag_ack.lua).
local function undo(field)
  local updates = {}
  for _, product in ipairs(products) do
    local n = tonumber(product.args[2])
    local reply = inv(product.keys,
      {'release', order_id, '0', '0', unpack(product.args, 3, 2 + 3 * n)})
    if reply[2] ~= '' then
      updates[#updates + 1] = product.sku
      updates[#updates + 1] = reply[2]
    end
  end
  bag_ack({begin_keys[4], begin_keys[5], commit_keys[10], commit_keys[11]},
    {'1', field, unpack(updates)})
end

if short then
  undo(order_id .. ':intent')
  return {'short', tostring(short), short_entry}
end

for _, product in ipairs(products) do
  if product.reply[2] ~= '' then
    commit_args[#commit_args + 1] = product.sku
    commit_args[#commit_args + 1] = product.reply[2]
  end
end
local done = bag_commit(commit_keys, commit_args)
if done[1] ~= 'created' then undo(order_id .. ':release') end
return done
