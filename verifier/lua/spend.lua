-- Mark one token spent: the one atomic redemption (docs/architecture.md, "Spent tokens").
-- KEYS[1]  {c:<cid>}:spent   set of SHA-256(token) hex
-- ARGV[1]  SHA-256(token) hex (never the token itself)
-- ARGV[2]  unix seconds at which the set may expire (the consultation's close plus grace),
--          or "" when no close is known (the set then keeps its expiry, or none)
-- Returns 1 when this call spent the token, 0 when it was spent before.
local added = redis.call('SADD', KEYS[1], ARGV[1])
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
