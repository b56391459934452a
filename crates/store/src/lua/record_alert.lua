-- Records an alert once, with the rule-state changes that produced it and,
-- when the subscription has a webhook, its delivery queued in the same step
-- (an alert is never recorded without its delivery, nor queued twice).
--
-- KEYS[1] alert index (hash alert id -> stream entry id)
-- KEYS[2] alert stream
-- KEYS[3] rule states (hash)
-- KEYS[4] deliveries due (sorted set)
-- KEYS[5] delivery states of the subscription (hash)
-- ARGV[1] alert id, ARGV[2] encoded alert, ARGV[3] stream MAXLEN,
-- ARGV[4] delivery member ("" = no webhook), ARGV[5] due time ms,
-- ARGV[6] initial delivery state,
-- ARGV[7..] rule-state field, value pairs
-- Returns the stream entry id of the alert (the existing one for a repeat).
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return existing
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'payload', ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[6])
end
for i = 7, #ARGV, 2 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return id
