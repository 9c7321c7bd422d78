-- Approve or reject one or more statements and record the audit trail, all or nothing.
-- KEYS: 1 visible set, 2 moderation queue zset, 3 audit list, 4.. statement hashes
-- ARGV: 1 action (approve|reject), 2 reason, 3 moderator name, 4 day, 5.. sids (as KEYS 4..)
-- Returns {'ok', changed} | {'unknown', sid}
local n = #KEYS - 3
for i = 1, n do
  if redis.call('EXISTS', KEYS[i + 3]) == 0 then
    return {'unknown', ARGV[i + 4]}
  end
end
local status = 'approved'
if ARGV[1] == 'reject' then status = 'rejected' end
local changed = 0
for i = 1, n do
  local key = KEYS[i + 3]
  local sid = ARGV[i + 4]
  local before = redis.call('HGET', key, 'status')
  if before ~= status then changed = changed + 1 end
  redis.call('HSET', key, 'status', status, 'reason', ARGV[2])
  if status == 'approved' then
    redis.call('SADD', KEYS[1], sid)
  else
    redis.call('SREM', KEYS[1], sid)
  end
  redis.call('ZREM', KEYS[2], sid)
  redis.call('RPUSH', KEYS[3], cjson.encode({
    day = ARGV[4], moderator = ARGV[3], action = ARGV[1], statement = tonumber(sid),
    reason = ARGV[2], before = before
  }))
end
return {'ok', changed}
