-- chat.lua: one chat message, checked against the room's rules and emitted, atomically.
-- KEYS[1] the room's seq counter        ({r:<room>}:seq)
-- KEYS[2] the room's history stream     ({r:<room>}:history)
-- KEYS[3] the room's channel            ({r:<room>}:events)
-- KEYS[4] the room record (hash)        ({r:<room>}:room)
-- KEYS[5] the latest chat list          ({r:<room>}:chat)
-- KEYS[6] the room's chat rules (hash)  ({r:<room>}:mod)
-- KEYS[7] muted users (zset)            ({r:<room>}:muted)
-- KEYS[8] banned users (set)            ({r:<room>}:banned)
-- KEYS[9] this user's rate window       ({r:<room>}:chatrate:<user>)
-- KEYS[10] this user's slow-mode timer  ({r:<room>}:slow:<user>)
-- KEYS[11] staff who chatted (set)       ({r:<room>}:staff)
-- KEYS[12] banned addresses (set)        ({r:<room>}:banned_ips)
-- KEYS[13] muted addresses (zset)        ({r:<room>}:muted_ips)
-- ARGV[1] user id, ARGV[2] name, ARGV[3] text (already filtered), ARGV[4] msg id
-- ARGV[5] "1" if the sender is staff (exempt from rate limits and slow mode)
-- ARGV[6] messages per window, ARGV[7] window ms
-- ARGV[8] history length to keep, ARGV[9] chat messages kept for snapshots
-- ARGV[10] the sender's role (viewer, host, admin), ARGV[11] the sender's address
-- Returns {"ok", seq} or {code, retry_after_ms}: room_ended, banned, muted, slow_mode,
-- rate_limited.
if redis.call('HGET', KEYS[4], 'status') ~= 'open' then
  return {'room_ended', 0}
end
local user = ARGV[1]
local staff = ARGV[5] == '1'
local address = ARGV[11]
if not staff and (redis.call('SISMEMBER', KEYS[8], user) == 1
    or (address ~= '' and redis.call('SISMEMBER', KEYS[12], address) == 1)) then
  return {'banned', 0}
end
local now = now_ms()
if not staff then
  local muted_until = tonumber(redis.call('ZSCORE', KEYS[7], user) or '0')
  if address ~= '' then
    muted_until = math.max(muted_until, tonumber(redis.call('ZSCORE', KEYS[13], address) or '0'))
  end
  if muted_until > now then
    return {'muted', muted_until - now}
  end
else
  -- Staff ids are remembered so that no host can mute or ban them (moderate.lua).
  redis.call('SADD', KEYS[11], user)
end
local slow_s = tonumber(redis.call('HGET', KEYS[6], 'slow_mode') or '0')
if not staff then
  if slow_s > 0 then
    local left = redis.call('PTTL', KEYS[10])
    if left > 0 then
      return {'slow_mode', left}
    end
  end
  local count = redis.call('INCR', KEYS[9])
  if count == 1 then
    redis.call('PEXPIRE', KEYS[9], ARGV[7])
  end
  if count > tonumber(ARGV[6]) then
    return {'rate_limited', redis.call('PTTL', KEYS[9])}
  end
end
local event = {type = 'chat', user_id = user, name = ARGV[2], text = ARGV[3], msg_id = ARGV[4],
  role = ARGV[10]}
local seq = emit_room_event(KEYS[1], KEYS[2], KEYS[3], ARGV[8], event)
redis.call('LPUSH', KEYS[5], cjson.encode(event))
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[9]) - 1)
if not staff and slow_s > 0 then
  redis.call('SET', KEYS[10], '1', 'PX', slow_s * 1000)
end
return {'ok', seq}
