-- Records an alert once, with the rule-state changes that produced it and,
-- when the subscription has a webhook, its delivery queued in the same step
-- (an alert is never recorded without its delivery, nor queued twice).
-- A subscription keeps its newest ARGV[3] alerts: recording one more drops
-- the oldest, with everything kept about it (index entry, acknowledgement,
-- delivery state, queued delivery), so no per-alert state outlives it.
--
-- KEYS[1] alert index (hash alert id -> stream entry id)
-- KEYS[2] alert stream
-- KEYS[3] rule states (hash)
-- KEYS[4] deliveries due (sorted set)
-- KEYS[5] delivery states of the subscription (hash)
-- KEYS[6] acknowledged alert ids of the subscription (set)
-- ARGV[1] alert id, ARGV[2] encoded alert, ARGV[3] alerts kept,
-- ARGV[4] delivery member ("" = no webhook), ARGV[5] due time ms,
-- ARGV[6] initial delivery state, ARGV[7] delivery member prefix ("<subscription>|"),
-- ARGV[8] channel announcing recorded alerts (the subscription id is published)
-- ARGV[9..] rule-state triples: field, the value its writer read ("" for
--          none), new value
-- Returns the stream entry id of the alert (the existing one for a repeat),
-- or false, with nothing written, when a rule state is no longer what its
-- writer read (another replica applied a later score first).
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  return existing
end
for i = 9, #ARGV, 3 do
  if (redis.call('HGET', KEYS[3], ARGV[i]) or '') ~= ARGV[i + 1] then
    return false
  end
end
local keep = tonumber(ARGV[3])
local excess = redis.call('XLEN', KEYS[2]) - keep + 1
if excess > 0 then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'alert' then
        local old = fields[i + 1]
        redis.call('HDEL', KEYS[1], old)
        redis.call('HDEL', KEYS[5], old)
        redis.call('SREM', KEYS[6], old)
        redis.call('ZREM', KEYS[4], ARGV[7] .. old)
      end
    end
    redis.call('XDEL', KEYS[2], entry[1])
  end
end
local id = redis.call('XADD', KEYS[2], '*', 'payload', ARGV[2], 'alert', ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], id)
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[4])
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[6])
end
for i = 9, #ARGV, 3 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
end
-- Open alert streams of every replica wake on this instead of polling.
redis.call('PUBLISH', ARGV[8], string.sub(ARGV[7], 1, -2))
return id
