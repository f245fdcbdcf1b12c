-- _lib.lua: helpers prepended to every script in this folder (see scripts.py).
-- It declares no keys of its own: each helper takes the keys its caller was given.

-- Redis's own clock, in milliseconds: every deadline in live is measured on it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Append one durable event to a room: give it the next seq and ts, keep it in the room's
-- history stream (capped near `maxlen`), publish it to the room's channel.
-- seq_key, history_key, channel: the room's keys (one hash tag); event: a Lua table.
-- Returns the seq given to the event.
local function emit_room_event(seq_key, history_key, channel, maxlen, event)
  local seq = redis.call('INCR', seq_key)
  event['seq'] = seq
  event['ts'] = now_ms()
  local payload = cjson.encode(event)
  redis.call('XADD', history_key, 'MAXLEN', '~', maxlen, seq .. '-0', 'e', payload)
  redis.call('PUBLISH', channel, payload)
  return seq
end

-- Publish a latest-value event (stock, viewers, likes): no seq, no history.
local function emit_volatile(channel, event)
  event['ts'] = now_ms()
  redis.call('PUBLISH', channel, cjson.encode(event))
end
