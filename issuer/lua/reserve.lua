-- Record one issuance for (consultation, subject_key) before the signature is returned.
-- KEYS[1] = iss:{c:<cid>}:ledger   ARGV[1] = subject_key   ARGV[2] = tokens per person
-- Returns the new count, or -1 when the person already has every token allowed.
local issued = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if issued >= tonumber(ARGV[2]) then
  return -1
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
