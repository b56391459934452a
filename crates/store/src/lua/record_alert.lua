-- Records an alert once, with the rule-state changes that produced it.
--
-- KEYS[1] alert index (hash alert id -> stream entry id)
-- KEYS[2] alert stream
-- KEYS[3] rule states (hash)
-- ARGV[1] alert id, ARGV[2] encoded alert, ARGV[3] stream MAXLEN,
-- ARGV[4..] rule-state field, value pairs
-- Returns the stream entry id of the alert (the existing one for a repeat).
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return existing
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'payload', ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return id
