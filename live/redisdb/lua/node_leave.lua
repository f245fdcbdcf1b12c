-- node_leave.lua: a process leaves the node registry (it is shutting down).
-- KEYS[1] the registry's processes ({<prefix>:nodes}:procs): hash, member -> JSON
-- KEYS[2] when each was last seen ({<prefix>:nodes}:seen): zset, member -> Redis ms
-- ARGV[1] the process ("<node id>:<pid>")
-- Returns 1.
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
