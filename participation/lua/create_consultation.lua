-- Create a consultation once: KEYS[1] = consultation hash; ARGV = field, value, ...
-- Returns 1 when created, 0 when the id is taken (nothing written).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
