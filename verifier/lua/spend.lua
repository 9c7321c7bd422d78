-- Mark one token spent: the one atomic redemption (docs/architecture.md, "Spent tokens").
-- KEYS[1]  {c:<cid>}:spent   set of SHA-256(token) hex
-- KEYS[2]  optional: a hash of the same consultation (same hash tag) that the caller wants
--          written together with the spend, e.g. participation's participant record
-- ARGV[1]  SHA-256(token) hex (never the token itself)
-- ARGV[2]  unix seconds at which the set may expire (the consultation's close plus grace),
--          or "" when no close is known (the set then keeps its expiry, or none)
-- ARGV[3..] with KEYS[2]: field, value, ... written to KEYS[2] only when this call spends
-- Returns 1 when this call spent the token (and wrote KEYS[2]), 0 when it was spent before
-- (and nothing was written).
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 and KEYS[2] then
  redis.call('HSET', KEYS[2], unpack(ARGV, 3))
end
if ARGV[2] ~= '' then
  local expire_at = tonumber(ARGV[2])
  local now = tonumber(redis.call('TIME')[1])
  local current = redis.call('EXPIRETIME', KEYS[1])
  -- Never in the past (that would delete every spent marker at once), and only ever
  -- later: a caller knowing an earlier close must not cut short the memory of tokens
  -- spent under a later one. EXPIRETIME is -1 while the set has no expiry.
  if expire_at > now and (current == -1 or expire_at > current) then
    redis.call('EXPIREAT', KEYS[1], expire_at)
  end
end
return added
