-- question_answer.lua: the host answers a question: a durable `answer` event for everyone.
-- KEYS[1] the room's questions (hash)   ({r:<room>}:questions)
-- KEYS[2] unanswered questions (zset)   ({r:<room>}:questions:open)
-- KEYS[3] the room's seq counter, KEYS[4] its history stream, KEYS[5] its channel
-- KEYS[6] the room record (hash)
-- ARGV[1] question_id   ARGV[2] the answer's text   ARGV[3] who answers (name)
-- ARGV[4] room history length to keep
-- Returns {'ok', answered question JSON} or {code}: room_ended, not_found,
-- already_answered.
if redis.call('HGET', KEYS[6], 'status') ~= 'open' then return {'room_ended'} end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'not_found'} end
local question = cjson.decode(raw)
if question['answer'] then return {'already_answered'} end
local now = now_ms()
question['answer'] = ARGV[2]
question['answered_by'] = ARGV[3]
question['answered_at'] = now
local json = cjson.encode(question)
redis.call('HSET', KEYS[1], ARGV[1], json)
redis.call('ZREM', KEYS[2], ARGV[1])
emit_room_event(KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[4]), {type = 'answer',
  question_id = ARGV[1], question = question['text'], answer = ARGV[2], sku = question['sku'],
  name = question['name'], answered_by = ARGV[3]})
return {'ok', json}
