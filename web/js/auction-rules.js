// The auction increment table (docs/protocol.md, "Increments"), for the next-bid buttons.
// The server decides every bid; this only proposes amounts it will accept. Pure.

const INCREMENTS = [
  [0, 100],
  [1000, 200],
  [5000, 500],
  [10000, 1000],
  [50000, 2500],
  [200000, 5000],
];

/** The least raise over `priceCents`. */
export function incrementFor(priceCents) {
  let step = INCREMENTS[0][1];
  for (const [floor, inc] of INCREMENTS) if (priceCents >= floor) step = inc;
  return step;
}

/** The least bid the auction accepts now: the start with no bid yet, else price + increment. */
export function nextBid(auction) {
  if (!auction.bids) return auction.start_cents ?? auction.price_cents;
  return auction.price_cents + incrementFor(auction.price_cents);
}
