-- Record one vote: check the participant's rate limit, append the vote to the stream and
-- fold it into the participant's vote state, all in one step.
-- KEYS: 1 consultation, 2 visible set, 3 participant votes hash, 4 vote stream,
--       5 vote sequence counter, 6 rate counter (this window), 7 rate counter (previous)
-- ARGV: 1 participant id, 2 sid, 3 vote (-1|0|1), 4 now (epoch s),
--       5 rate limit, 6 weight of the previous window in 1/1000, 7 rate counter TTL (s)
-- Stream ids are '<seq>-0' from the counter: no wall-clock time (docs/architecture.md).
-- The rate window is the sliding-window counter of rate_limit.lua; only recorded votes count.
-- Returns {'ok', seq, previous or ''} | {'same'} | {'unknown'} | {'closed'} | {'not_open'}
--       | {'unknown_statement'} | {'limited', current, previous}
local c = redis.call('HMGET', KEYS[1], 'opens_ts', 'closes_ts')
if not c[1] then
  return {'unknown'}
end
local now = tonumber(ARGV[4])
if now >= tonumber(c[2]) then return {'closed'} end
if now < tonumber(c[1]) then return {'not_open'} end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 0 then
  return {'unknown_statement'}
end
local previous = redis.call('HGET', KEYS[3], ARGV[2])
if previous == ARGV[3] then
  return {'same'}
end
local current = tonumber(redis.call('GET', KEYS[6]) or '0')
local before = tonumber(redis.call('GET', KEYS[7]) or '0')
if math.floor(before * tonumber(ARGV[6]) / 1000) + current >= tonumber(ARGV[5]) then
  return {'limited', current, before}
end
redis.call('INCR', KEYS[6])
redis.call('EXPIRE', KEYS[6], tonumber(ARGV[7]))
local seq = redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[4], seq .. '-0', 'p', ARGV[1], 's', ARGV[2], 'v', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
return {'ok', seq, previous or ''}
