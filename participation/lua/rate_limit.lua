-- Sliding-window counter: the previous window's count, weighted by how much of it still
-- overlaps the sliding window, plus the current window's count.
-- KEYS: 1 current window counter, 2 previous window counter,
--       3 optional: a hash of the same consultation whose fields must hold ARGV[4..]
-- ARGV: 1 limit, 2 weight of the previous window in 1/1000, 3 TTL of the counter (s),
--       4.. with KEYS[3]: field, value, ... that KEYS[3] must hold (else nothing is counted)
-- Returns {1, current, previous} when allowed (and counted), {0, current, previous} if not,
-- {-1} when KEYS[3] does not hold those values (nothing counted).
if KEYS[3] then
  for i = 4, #ARGV, 2 do
    if redis.call('HGET', KEYS[3], ARGV[i]) ~= ARGV[i + 1] then
      return {-1}
    end
  end
end
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local used = math.floor(previous * tonumber(ARGV[2]) / 1000) + current
if used >= tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, current, previous}
