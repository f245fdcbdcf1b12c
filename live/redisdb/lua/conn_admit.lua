-- conn_admit.lua: admit or refuse one websocket connection from an address, against
-- [limits] connections_per_ip counted over every worker process.
-- KEYS[1] the address's connection leases (rate:conn:<ip>): sorted set, member
--         `<process_id>:<conn_id>`, score the lease's deadline (Redis ms)
-- ARGV[1] the member for this connection
-- ARGV[2] the limit (connections the address may hold)
-- ARGV[3] the lease's lifetime in ms (3 presence heartbeats: the owning process renews
--         it with conn_refresh.lua; a process that dies stops counting once it runs out)
-- Returns {1, count} when admitted (count includes this connection), {0, count} when
-- refused (count: the address's live connections).
local now = now_ms()
local lease_ms = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  count = count - 1 -- the same connection again (a retried call): renew it
elseif count >= tonumber(ARGV[2]) then
  return {0, count}
end
redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[1])
-- Every lease ends by `now + lease_ms` at the latest, so the key never outlives them.
redis.call('PEXPIRE', KEYS[1], lease_ms)
return {1, count + 1}
