-- Update fields of an existing consultation: KEYS[1] = consultation hash;
-- ARGV = field, value, ... Returns 0 (nothing written) when it does not exist.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
