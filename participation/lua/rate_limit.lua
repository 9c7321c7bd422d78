-- Sliding-window counter: the previous window's count, weighted by how much of it still
-- overlaps the sliding window, plus the current window's count.
-- KEYS: 1 current window counter, 2 previous window counter
-- ARGV: 1 limit, 2 weight of the previous window in 1/1000, 3 TTL of the counter (s)
-- Returns {1, current, previous} when allowed (and counted), {0, current, previous} if not.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local used = math.floor(previous * tonumber(ARGV[2]) / 1000) + current
if used >= tonumber(ARGV[1]) then
  return {0, current, previous}
end
current = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, current, previous}
