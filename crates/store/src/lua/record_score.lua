-- Records a recomputed score, but only if the latest score is still the one
-- the caller compared against: two replicas recomputing one series at once
-- cannot both publish a change, nor can a slow one overwrite a newer score.
--
-- KEYS[1]  latest scores hash of (mineral, method)
-- KEYS[2]  ranking sorted set of (method, importer)
-- KEYS[3]  history list of (mineral, method, importer)
-- KEYS[4]  score-changed stream
-- ARGV[1]  importer (the field of KEYS[1])
-- ARGV[2]  "1" when the caller read a latest score, "0" when it read none
-- ARGV[3]  the latest score it read, encoded ("" with ARGV[2] = "0")
-- ARGV[4]  the new latest score, encoded
-- ARGV[5]  mineral (the member of KEYS[2])   ARGV[6]  the score
-- ARGV[7]  history point, encoded             ARGV[8]  history points kept
-- ARGV[9]  stream length ceiling              ARGV[10] ScoreChanged payload or ""
--
-- Returns false when the latest score changed since the caller read it
-- (nothing is written), else {1, the event's entry id or ""}.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then
    return false
  end
elseif current then
  return false
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
redis.call('LPUSH', KEYS[3], ARGV[7])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[8]) - 1)
local id = ''
if ARGV[10] ~= '' then
  id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'payload', ARGV[10])
end
return {1, id}
