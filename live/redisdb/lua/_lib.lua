-- _lib.lua: helpers prepended to every script in this folder (see scripts.py).
-- It declares no keys of its own: each helper takes the keys its caller was given.

-- Redis's own clock, in milliseconds: every deadline in live is measured on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- History entries younger than this are never trimmed; Scripts replaces the placeholder
-- with [realtime] history_min_age_s (in ms) when it loads a script.
local history_min_age_ms = tonumber('__HISTORY_MIN_AGE_MS__') or 600000

-- Publish on a room's channel. Sharded pub/sub in both modes (see live/redisdb/pubsub.py):
-- the channel shares the room's hash tag, so on a cluster the message stays on the shard
-- that runs this script. Every script publishes through here.
local function publish_room(channel, payload)
  redis.call('SPUBLISH', channel, payload)
end

-- Every 100 events, drop the oldest history entries that are both more than `maxlen`
-- events old and older than history_min_age_ms: the stream keeps at least `maxlen`
-- events AND at least the last history_min_age_ms. At most 200 entries are looked at.
local function trim_room_history(history_key, seq, maxlen, now)
  if seq % 100 ~= 0 or seq <= maxlen then
    return
  end
  local keep_from = seq - maxlen + 1
  local cutoff = now - history_min_age_ms
  local oldest = redis.call('XRANGE', history_key, '-', '+', 'COUNT', 200)
  local minid = nil
  for _, entry in ipairs(oldest) do
    local entry_seq = tonumber(string.match(entry[1], '^(%d+)'))
    local entry_ts = tonumber(entry[2][4] or '0')
    if entry_seq >= keep_from or entry_ts >= cutoff then
      break
    end
    minid = entry_seq + 1
  end
  if minid then
    redis.call('XTRIM', history_key, 'MINID', minid .. '-0')
  end
end

-- The media clock (live/replay/clock.py): while a room is live, its origin keeps in
-- `<room tag>:mclock` the position (`pos`, ms from the start of the recording) of the last
-- video frame it forwarded and the Redis time it was forwarded (`at`), renewed every
-- second and removed when the room stops being live; `ttl` (seconds) is set while the show
-- is recorded. The key's name is derived from the room's seq key (`<room tag>:seq`): the
-- same hash tag, so the same slot as every key its caller was given; likewise
-- `<room tag>:chapters`, the replay's chapters (a list, never trimmed, `ttl` seconds).
-- The position is carried forward from `at` by at most MEDIA_AHEAD_MS (a second between
-- renewals, with margin), so a stalled picture does not run the clock on.
local MEDIA_AHEAD_MS = 1500
local CHAPTER_TYPES = {pin = 'pin', sale_open = 'sale', auction_open = 'auction', answer = 'answer'}
-- The host's chat lines are kept beside the chapters as `said` entries (not chapters of
-- the replay's timeline: live/replay/rules.py leaves them out) so that the search's moment
-- of the product on screen says them too; the host is exempt from chat limits, so past
-- MAX_CHAPTER_ENTRIES entries no more lines are kept (chapters still are).
local MAX_CHAPTER_ENTRIES = 10000

local function room_key_beside(seq_key, name)
  return string.sub(seq_key, 1, -4) .. name
end

-- (media_ms, chapters ttl) while the room is live, else nil.
local function media_position(seq_key, now)
  local clock = redis.call('HMGET', room_key_beside(seq_key, 'mclock'), 'pos', 'at', 'ttl')
  if not clock[1] then
    return nil, nil
  end
  local ahead = now - tonumber(clock[2])
  if ahead < 0 then
    ahead = 0
  elseif ahead > MEDIA_AHEAD_MS then
    ahead = MEDIA_AHEAD_MS
  end
  return tonumber(clock[1]) + ahead, tonumber(clock[3] or '0')
end

-- The replay chapter an event makes (pin, sale opening, auction, answer; a host's chat
-- line: `said`), or nil.
local function chapter_of(event, at_ms)
  if event['type'] == 'chat' then
    if event['role'] ~= 'host' then
      return nil
    end
    return {at_ms = at_ms, type = 'said', text = event['text'], seq = event['seq'],
      ts = event['ts']}
  end
  local kind = CHAPTER_TYPES[event['type']]
  if not kind then
    return nil
  end
  local chapter = {at_ms = at_ms, type = kind, seq = event['seq'], ts = event['ts']}
  local item = event['product'] or event['sale'] or event['auction']
  if type(item) == 'table' then
    chapter['title'] = item['title'] or item['sku']
    chapter['sku'] = item['sku']
  end
  if kind == 'sale' then
    chapter['sale_id'] = event['sale_id']
  elseif kind == 'auction' then
    chapter['auction_id'] = event['auction_id']
  elseif kind == 'answer' then
    chapter['title'] = event['question']
    chapter['question'] = event['question']
    chapter['answer'] = event['answer']
    chapter['sku'] = event['sku']
  end
  return chapter
end

local function stamp_media_clock(seq_key, event, now)
  local media_ms, ttl = media_position(seq_key, now)
  if not media_ms then
    return
  end
  event['media_ms'] = media_ms
  if ttl > 0 then
    local chapter = chapter_of(event, media_ms)
    if chapter then
      local key = room_key_beside(seq_key, 'chapters')
      if chapter['type'] ~= 'said' or redis.call('LLEN', key) < MAX_CHAPTER_ENTRIES then
        redis.call('RPUSH', key, cjson.encode(chapter))
        redis.call('EXPIRE', key, ttl)
      end
    end
  end
end

-- Append one durable event to a room: give it the next seq and ts (and, while the room is
-- live, its media_ms: above), keep it in the room's history stream (trimmed above: at
-- least `maxlen` events and history_min_age_ms), publish it to the room's channel.
-- seq_key, history_key, channel: the room's keys (one hash tag); event: a Lua table.
-- Returns the seq given to the event.
local function emit_room_event(seq_key, history_key, channel, maxlen, event)
  local seq = redis.call('INCR', seq_key)
  local now = now_ms()
  event['seq'] = seq
  event['ts'] = now
  stamp_media_clock(seq_key, event, now)
  local payload = cjson.encode(event)
  redis.call('XADD', history_key, seq .. '-0', 'e', payload, 't', now)
  trim_room_history(history_key, seq, tonumber(maxlen), now)
  publish_room(channel, payload)
  return seq
end

-- Publish a latest-value event (stock, viewers, likes): no seq, no history.
local function emit_volatile(channel, event)
  event['ts'] = now_ms()
  publish_room(channel, cjson.encode(event))
end

-- The viewers of a room: the sum of the counts of processes whose presence entry (a field
-- "count:expires_ms" per process in `presence_key`; fields starting with "_" are not
-- processes) has not expired. With `prune`, expired entries are removed on the way.
local function live_viewers(presence_key, now, prune)
  local total = 0
  local fields = redis.call('HGETALL', presence_key)
  for i = 1, #fields, 2 do
    local field = fields[i]
    if string.sub(field, 1, 1) ~= '_' then
      local count, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
      if count and tonumber(expires) > now then
        total = total + tonumber(count)
      elseif prune then
        redis.call('HDEL', presence_key, field)
      end
    end
  end
  return total
end
