-- Record one issuance for (consultation, subject_key) before the signature is returned,
-- but only while the policy and keys are still the ones the caller checked the request
-- against (issuance then needs one round trip: the issuer keeps what it last read).
-- KEYS[1] = iss:{c:<cid>}:ledger   KEYS[2] = iss:{c:<cid>}:policy
-- KEYS[3] = iss:{c:<cid>}:keys     KEYS[4] = iss:{c:<cid>}:panel
-- ARGV[1] = subject_key   ARGV[2] = tokens per person   ARGV[3] = the policy JSON checked
-- ARGV[4] = number of keys read   ARGV[5] = id of the key that will sign
-- ARGV[6] = '1' when the policy admits only the invited panel, else '0'
-- Returns the new count; -1 when the person already has every token allowed; -2 when the
-- person is not in the panel; -3 when the policy or the keys changed (nothing written).
-- Keys are only ever added (add_key.lua), so an equal count and the signing key's presence
-- mean the same set of keys.
if redis.call('GET', KEYS[2]) ~= ARGV[3]
  or redis.call('HLEN', KEYS[3]) ~= tonumber(ARGV[4])
  or redis.call('HEXISTS', KEYS[3], ARGV[5]) == 0 then
  return -3
end
if ARGV[6] == '1' and redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 0 then
  return -2
end
local issued = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if issued >= tonumber(ARGV[2]) then
  return -1
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
