-- Atomic upsert of hash fields with version bump and change event.
--
-- KEYS[1]          data stream
-- KEYS[2..V+1]     version keys, one per mineral (or the governance version)
-- KEYS[V+2..]      hash and set keys referenced by index below
-- ARGV[1]          stream MAXLEN (approximate trim)
-- ARGV[2]          DataChanged payload (protobuf) without minerals/changed_records
-- ARGV[3]          V
-- ARGV[4..3+V]     mineral id per version key ("" for governance)
-- then             G, and per group: key index, version index (0 = none),
--                  counter key index (0 = none), counter field, n, n x (field, value);
--                  fields new to the hash add to the counter (HINCRBY), so
--                  counts of stored records need no scan
-- then             S, and per op: kind, key index, member, version index
--                  (kind S = SADD, Z = ZADD score 0, D = HDEL; a deleted
--                  field counts as a change and bumps the version)
--
-- Only fields whose value differs are written. When anything changed, one
-- stream entry is appended and its id becomes the version of every mineral
-- that changed; the script appends those minerals and the change count to
-- the protobuf payload (fields 2 and 5 of DataChanged), so the event says
-- exactly what changed. Returns {changed, entry id or false}.
local function varint(n)
  local s = ''
  while n >= 128 do
    s = s .. string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  return s .. string.char(n)
end

local maxlen = ARGV[1]
local payload = ARGV[2]
local nv = tonumber(ARGV[3])
local ids = {}
for i = 1, nv do ids[i] = ARGV[3 + i] end
local pos = 4 + nv
local ng = tonumber(ARGV[pos]); pos = pos + 1
local changed = 0
local bump = {}
for _ = 1, ng do
  local key = KEYS[tonumber(ARGV[pos])]
  local vidx = tonumber(ARGV[pos + 1])
  local cidx = tonumber(ARGV[pos + 2])
  local cfield = ARGV[pos + 3]
  local n = tonumber(ARGV[pos + 4])
  pos = pos + 5
  local fields = {}
  for i = 1, n do fields[i] = ARGV[pos + (i - 1) * 2] end
  local old = redis.call('HMGET', key, unpack(fields))
  local upd = {}
  local new = 0
  for i = 1, n do
    local v = ARGV[pos + (i - 1) * 2 + 1]
    if old[i] ~= v then
      upd[#upd + 1] = fields[i]
      upd[#upd + 1] = v
      if not old[i] then new = new + 1 end
    end
  end
  pos = pos + 2 * n
  if new > 0 and cidx > 0 then
    redis.call('HINCRBY', KEYS[cidx], cfield, new)
  end
  if #upd > 0 then
    redis.call('HSET', key, unpack(upd))
    changed = changed + #upd / 2
    if vidx > 0 then bump[vidx] = true end
  end
end
local ns = tonumber(ARGV[pos]); pos = pos + 1
for _ = 1, ns do
  local kind = ARGV[pos]
  local key = KEYS[tonumber(ARGV[pos + 1])]
  local member = ARGV[pos + 2]
  local vidx = tonumber(ARGV[pos + 3])
  pos = pos + 4
  if kind == 'S' then
    redis.call('SADD', key, member)
  elseif kind == 'Z' then
    redis.call('ZADD', key, 0, member)
  elseif kind == 'D' then
    if redis.call('HDEL', key, member) == 1 then
      changed = changed + 1
      if vidx > 0 then bump[vidx] = true end
    end
  end
end
if changed == 0 then
  return {0, false}
end
for vidx = 1, nv do
  if bump[vidx] and ids[vidx] ~= '' then
    payload = payload .. string.char(18) .. varint(#ids[vidx]) .. ids[vidx]
  end
end
payload = payload .. string.char(40) .. varint(changed)
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'payload', payload)
for vidx = 1, nv do
  if bump[vidx] then redis.call('SET', KEYS[1 + vidx], id) end
end
return {changed, id}
