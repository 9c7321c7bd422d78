-- Undo one reservation made by reserve.lua when signing failed (nothing half-written).
-- KEYS[1] = iss:{c:<cid>}:ledger   ARGV[1] = subject_key
-- Returns the remaining count.
local issued = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if issued <= 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
