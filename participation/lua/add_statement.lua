-- Add one statement, with its duplicate check, in one step.
-- KEYS: 1 consultation, 2 statement hash, 3 statements zset, 4 texts hash (digest -> sid),
--       5 visible set, 6 moderation queue zset
-- ARGV: 1 sid, 2 text, 3 digest, 4 origin, 5 is_meta, 6 created_day, 7 status,
--       8 queued (0|1), 9 author ('' for seeds), 10 now (epoch s), 11 participant (0|1)
-- Returns {'ok', sid} | {'dup', sid} | {'unknown'} | {'closed'} | {'not_open'} | {'not_allowed'}
local c = redis.call('HMGET', KEYS[1], 'opens_ts', 'closes_ts', 'allow_statements')
if not c[1] then
  return {'unknown'}
end
if ARGV[11] == '1' then
  local now = tonumber(ARGV[10])
  if now >= tonumber(c[2]) then return {'closed'} end
  if now < tonumber(c[1]) then return {'not_open'} end
  if c[3] ~= '1' then return {'not_allowed'} end
end
local existing = redis.call('HGET', KEYS[4], ARGV[3])
if existing then
  return {'dup', existing}
end
redis.call('HSET', KEYS[2], 'text', ARGV[2], 'status', ARGV[7], 'origin', ARGV[4],
  'is_meta', ARGV[5], 'created_day', ARGV[6], 'author', ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[1])
if ARGV[7] == 'approved' then
  redis.call('SADD', KEYS[5], ARGV[1])
end
if ARGV[8] == '1' then
  redis.call('ZADD', KEYS[6], ARGV[1], ARGV[1])
end
return {'ok', ARGV[1]}
