-- moderate.lua: a host's moderation action on one room, checked and announced atomically.
-- KEYS[1] the room's seq counter      ({r:<room>}:seq)
-- KEYS[2] the room's history stream   ({r:<room>}:history)
-- KEYS[3] the room's channel          ({r:<room>}:events)
-- KEYS[4] the room record (hash)      ({r:<room>}:room)
-- KEYS[5] the latest chat list        ({r:<room>}:chat)
-- KEYS[6] the room's chat rules       ({r:<room>}:mod)
-- KEYS[7] muted users (zset)          ({r:<room>}:muted)
-- KEYS[8] banned users (set)          ({r:<room>}:banned)
-- ARGV[1] action: delete_chat, mute, ban or slow_mode
-- ARGV[2] msg id (delete_chat), user id (mute, ban) or seconds (slow_mode)
-- ARGV[3] seconds (mute), ARGV[4] history length to keep
-- Returns {"ok", seq or 0} or {"room_ended"}. delete_chat is announced even for a message
-- no longer in the latest-chat list: it may still be on viewers' screens.
if redis.call('HGET', KEYS[4], 'status') ~= 'open' then
  return {'room_ended'}
end
local action = ARGV[1]
if action == 'delete_chat' then
  for _, raw in ipairs(redis.call('LRANGE', KEYS[5], 0, -1)) do
    if cjson.decode(raw)['msg_id'] == ARGV[2] then
      redis.call('LREM', KEYS[5], 1, raw)
    end
  end
  local seq = emit_room_event(KEYS[1], KEYS[2], KEYS[3], ARGV[4],
    {type = 'chat_deleted', msg_id = ARGV[2]})
  return {'ok', seq}
elseif action == 'mute' then
  local now = now_ms()
  -- Expired mutes are dropped here, so the set only holds current ones.
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
  local until_ms = now + tonumber(ARGV[3]) * 1000
  redis.call('ZADD', KEYS[7], until_ms, ARGV[2])
  emit_volatile(KEYS[3], {type = 'muted', to = ARGV[2], ['until'] = until_ms})
  return {'ok', 0}
elseif action == 'ban' then
  redis.call('SADD', KEYS[8], ARGV[2])
  -- Every process closes the user's connections when it sees this personal event.
  emit_volatile(KEYS[3], {type = 'banned', to = ARGV[2]})
  return {'ok', 0}
elseif action == 'slow_mode' then
  redis.call('HSET', KEYS[6], 'slow_mode', ARGV[2])
  emit_volatile(KEYS[3], {type = 'slow_mode', seconds = tonumber(ARGV[2])})
  return {'ok', 0}
end
return {'not_found'}
