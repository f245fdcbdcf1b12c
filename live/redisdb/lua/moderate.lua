-- moderate.lua: a host's moderation action on one room, checked and announced atomically.
-- KEYS[1] the room's seq counter      ({r:<room>}:seq)
-- KEYS[2] the room's history stream   ({r:<room>}:history)
-- KEYS[3] the room's channel          ({r:<room>}:events)
-- KEYS[4] the room record (hash)      ({r:<room>}:room)
-- KEYS[5] the latest chat list        ({r:<room>}:chat)
-- KEYS[6] the room's chat rules       ({r:<room>}:mod)
-- KEYS[7] muted users (zset)          ({r:<room>}:muted)
-- KEYS[8] banned users (set)          ({r:<room>}:banned)
-- KEYS[9] staff who chatted (set)     ({r:<room>}:staff)
-- KEYS[10] banned addresses (set)     ({r:<room>}:banned_ips)
-- KEYS[11] muted addresses (zset)     ({r:<room>}:muted_ips)
-- KEYS[12] users' addresses (hash)    ({r:<room>}:addresses)   user id -> last address
-- ARGV[1] action: delete_chat, mute, unmute, ban, unban or slow_mode
-- ARGV[2] msg id (delete_chat), user id (mute, ban, unmute, unban) or seconds (slow_mode)
-- ARGV[3] seconds (mute), ARGV[4] history length to keep
-- ARGV[5] scope: "user" or "ip" (mute, ban)
-- Returns {"ok", seq or 0}, {"room_ended"}, {"staff"} (the target is a host or admin) or
-- {"no_address"} (scope ip, and the user was never seen in this room). delete_chat is
-- announced even for a message no longer in the latest-chat list: it may still be on
-- viewers' screens.
if redis.call('HGET', KEYS[4], 'status') ~= 'open' then
  return {'room_ended'}
end
local action = ARGV[1]
local target = ARGV[2]
if action == 'mute' or action == 'ban' then
  if target == 'admin' or target == redis.call('HGET', KEYS[4], 'host_user_id')
      or redis.call('SISMEMBER', KEYS[9], target) == 1 then
    return {'staff'}
  end
end
local address = nil
if ARGV[5] == 'ip' or action == 'unban' or action == 'unmute' then
  address = redis.call('HGET', KEYS[12], target)
  if ARGV[5] == 'ip' and not address then
    return {'no_address'}
  end
end
if action == 'delete_chat' then
  for _, raw in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
    if cjson.decode(raw)['msg_id'] == target then
      redis.call('LREM', KEYS[5], 1, raw)
    end
  end
  local seq = emit_room_event(KEYS[1], KEYS[2], KEYS[3], ARGV[4],
    {type = 'chat_deleted', msg_id = target})
  return {'ok', seq}
elseif action == 'mute' then
  local now = now_ms()
  -- Expired mutes are dropped here, so the sets only hold current ones.
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', now)
  local until_ms = now + tonumber(ARGV[3]) * 1000
  redis.call('ZADD', KEYS[7], until_ms, target)
  if address then
    redis.call('ZADD', KEYS[11], until_ms, address)
  end
  emit_volatile(KEYS[3], {type = 'muted', to = target, ['until'] = until_ms})
  return {'ok', 0}
elseif action == 'unmute' then
  redis.call('ZREM', KEYS[7], target)
  if address then
    redis.call('ZREM', KEYS[11], address)
  end
  emit_volatile(KEYS[3], {type = 'unmuted', to = target})
  return {'ok', 0}
elseif action == 'ban' then
  redis.call('SADD', KEYS[8], target)
  if address then
    redis.call('SADD', KEYS[10], address)
  end
  -- Every process closes the user's connections when it sees this personal event.
  emit_volatile(KEYS[3], {type = 'banned', to = target})
  return {'ok', 0}
elseif action == 'unban' then
  redis.call('SREM', KEYS[8], target)
  if address then
    redis.call('SREM', KEYS[10], address)
  end
  return {'ok', 0}
elseif action == 'slow_mode' then
  redis.call('HSET', KEYS[6], 'slow_mode', target)
  emit_volatile(KEYS[3], {type = 'slow_mode', seconds = tonumber(target)})
  return {'ok', 0}
end
return {'not_found'}
