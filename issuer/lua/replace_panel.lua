-- Replace the invited panel of one consultation in one step.
-- KEYS[1] = iss:{c:<cid>}:panel   ARGV = keyed hashes of the invited identifiers
-- Returns the panel size.
redis.call('DEL', KEYS[1])
for i = 1, #ARGV, 5000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 4999, #ARGV)))
end
return redis.call('SCARD', KEYS[1])
