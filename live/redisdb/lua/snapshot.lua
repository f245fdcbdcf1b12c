-- snapshot.lua: everything a connecting client needs, read atomically: the room, its seq
-- and epoch, the missed events (resume) or the latest chat, the pin, likes and viewers.
-- KEYS[1] the room's seq counter      ({r:<room>}:seq)
-- KEYS[2] the room's epoch (hash)     ({r:<room>}:epoch)   id, run
-- KEYS[3] the room's history stream   ({r:<room>}:history)
-- KEYS[4] the room record (hash)      ({r:<room>}:room)
-- KEYS[5] the latest chat list        ({r:<room>}:chat)
-- KEYS[6] the pinned card             ({r:<room>}:pinned)
-- KEYS[7] the like counter            ({r:<room>}:likes)
-- KEYS[8] the presence hash           ({r:<room>}:presence)
-- KEYS[9] the room's chat rules       ({r:<room>}:mod)
-- KEYS[10] banned users (set)         ({r:<room>}:banned)
-- KEYS[11] banned addresses (set)     ({r:<room>}:banned_ips)
-- KEYS[12] users' addresses (hash)    ({r:<room>}:addresses)   user id -> last address
-- ARGV[1] since (the client's last seq, "" for none), ARGV[2] the client's epoch
-- ARGV[3] a fresh random epoch, used if the room has none or Redis restarted since
-- ARGV[4] chat messages in a snapshot, ARGV[5] the user id ("" for none)
-- ARGV[6] most events a resume may replay
-- ARGV[7] the client's address ("" for none), ARGV[8] "1" if the client is staff
-- Returns {"not_found"}, {"banned"} or {"ok", seq, epoch, recovered, events, pinned,
-- likes, viewers, slow_mode, room fields...}.
local room = redis.call('HGETALL', KEYS[4])
if #room == 0 then
  return {'not_found'}
end
if ARGV[8] ~= '1' then
  if ARGV[5] ~= '' and redis.call('SISMEMBER', KEYS[10], ARGV[5]) == 1 then
    return {'banned'}
  end
  if ARGV[7] ~= '' and redis.call('SISMEMBER', KEYS[11], ARGV[7]) == 1 then
    return {'banned'}
  end
end
-- A signed-in user's address, so that a host may ban or mute it (moderate.lua, scope ip).
if ARGV[5] ~= '' and ARGV[7] ~= '' then
  redis.call('HSET', KEYS[12], ARGV[5], ARGV[7])
end
-- Redis's run_id changes on every restart, and a restart with appendfsync everysec may
-- have lost the last second of events (and reused their seqs): a new run means a new
-- epoch, so an old `since` can never be matched against reused seqs.
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local stored = redis.call('HMGET', KEYS[2], 'id', 'run')
local epoch = stored[1]
if not epoch or stored[2] ~= run then
  epoch = ARGV[3]
  redis.call('HSET', KEYS[2], 'id', epoch, 'run', run)
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local recovered = 0
local events = {}
local since = tonumber(ARGV[1])
if since and ARGV[2] == epoch and since >= 0 and since <= seq
    and seq - since <= tonumber(ARGV[6]) then
  if since == seq then
    recovered = 1
  else
    local first = (since + 1) .. '-0'
    local entries = redis.call('XRANGE', KEYS[3], first, '+')
    if #entries == seq - since and entries[1][1] == first then
      recovered = 1
      for i, entry in ipairs(entries) do
        events[i] = entry[2][2]
      end
    end
  end
end
if recovered == 0 then
  events = redis.call('LRANGE', KEYS[5], 0, tonumber(ARGV[4]) - 1)
end
local viewers = live_viewers(KEYS[8], now_ms(), false)
local result = {
  'ok', seq, epoch, recovered, events,
  redis.call('GET', KEYS[6]) or '',
  tonumber(redis.call('GET', KEYS[7]) or '0'),
  viewers,
  tonumber(redis.call('HGET', KEYS[9], 'slow_mode') or '0'),
}
for _, value in ipairs(room) do
  result[#result + 1] = value
end
return result
