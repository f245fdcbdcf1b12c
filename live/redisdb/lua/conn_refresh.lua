-- conn_refresh.lua: one process renews its leases on an address's connections (on its
-- presence heartbeat; one call per address, all of them in one pipeline).
-- KEYS[1] the address's connection leases (rate:conn:<ip>), as in conn_admit.lua
-- ARGV[1] the leases' lifetime in ms
-- ARGV[2..] the members (`<process_id>:<conn_id>`) of this process's open connections
-- Expired leases are dropped first, then only members still present are renewed: a lease
-- released, or run out, while this call was on its way is never brought back.
-- Returns the number of leases renewed.
local now = now_ms()
local lease_ms = tonumber(ARGV[1])
local deadline = now + lease_ms
local renewed = 0
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
    renewed = renewed + 1
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], lease_ms)
end
return renewed
