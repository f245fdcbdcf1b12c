// The server's clock as seen from this page, from the `ts` of channel events.

let offset = 0;

/** Learn the offset from an event time stamped by the server (epoch ms). */
export function observe(ts) {
  if (typeof ts === "number" && ts > 0) offset = ts - Date.now();
}

/** Now on the server's clock, epoch ms. */
export function serverNow() {
  return Date.now() + offset;
}
