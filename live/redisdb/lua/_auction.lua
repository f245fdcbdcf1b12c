-- _auction.lua: the auction rules of live/commerce/auction_rules.py, for the auction
-- scripts (`-- include: _auction.lua`). The two copies are held to the same tests.

-- {price from (cents), increment (cents)}, ascending: under $10 +$1 ... $2,000 and over +$50.
local INCREMENTS = {{0, 100}, {1000, 200}, {5000, 500}, {10000, 1000}, {50000, 2500},
  {200000, 5000}}

local function increment_for(price)
  local step = INCREMENTS[1][2]
  for _, row in ipairs(INCREMENTS) do
    if price >= row[1] then step = row[2] end
  end
  return step
end

-- The standing after a bid of `amount` up to `top` (>= amount) by `bidder`, when the bid
-- is at least the minimum: returns price, leader, leader's max. Proxy bidding: the losing
-- max is bid up to, the winner pays one increment above it capped at its own max; between
-- equal maxes the earlier leads; a leader's own bid only raises its max.
local function apply_bid(price, leader, held, bidder, amount, top)
  if not leader then return amount, bidder, top end
  if leader == bidder then return price, bidder, math.max(held, top) end
  if top > held then
    return math.max(amount, math.min(top, held + increment_for(held))), bidder, top
  end
  if top == held then return held, leader, held end
  return math.min(held, top + increment_for(top)), leader, held
end
