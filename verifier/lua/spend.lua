-- Mark one token spent: the one atomic redemption (docs/architecture.md, "Spent tokens").
-- Everything a caller adds happens in the same step, or nothing does.
-- KEYS[1]  {c:<cid>}:spent   set of SHA-256(token) hex
-- then, each only when ARGV[3..5] announce it, in this order (all with the same hash tag):
--   the record: a hash written together with the spend (participation's participant record)
--   the guard: a hash whose fields must still hold the values the caller read
--   the attempt counters: this window's and the previous window's (rate_limit.lua's
--   sliding window), counting every attempt that gets this far, spent before or not
-- ARGV[1]  SHA-256(token) hex (never the token itself)
-- ARGV[2]  unix seconds at which the set may expire (the consultation's close plus grace),
--          or "" when no close is known (the set then keeps its expiry, or none)
-- ARGV[3]  number of record field/value pairs (0: no record)
-- ARGV[4]  number of guarded field/value pairs (0: no guard)
-- ARGV[5]  attempt limit, or "" for no counters; ARGV[6] weight of the previous window in
--          1/1000; ARGV[7] counter TTL (s)
-- ARGV[8..] the record's field, value pairs, then the guard's
-- Returns {1} when this call spent the token (and wrote the record), {0} when it was spent
-- before (nothing written but the attempt), {-1} when the guard does not hold, {-2, current,
-- previous} when the attempts are at the limit (nothing written in either case).
local records, guards = tonumber(ARGV[3]), tonumber(ARGV[4])
local k = 2
local record, guard, this_window, last_window
if records > 0 then record = KEYS[k]; k = k + 1 end
if guards > 0 then guard = KEYS[k]; k = k + 1 end
if ARGV[5] ~= '' then this_window = KEYS[k]; last_window = KEYS[k + 1] end
local first_guard = 8 + 2 * records
for i = first_guard, first_guard + 2 * guards - 1, 2 do
  if redis.call('HGET', guard, ARGV[i]) ~= ARGV[i + 1] then
    return {-1}
  end
end
if this_window then
  local current = tonumber(redis.call('GET', this_window) or '0')
  local previous = tonumber(redis.call('GET', last_window) or '0')
  if math.floor(previous * tonumber(ARGV[6]) / 1000) + current >= tonumber(ARGV[5]) then
    return {-2, current, previous}
  end
  redis.call('INCR', this_window)
  redis.call('EXPIRE', this_window, tonumber(ARGV[7]))
end
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 and record then
  redis.call('HSET', record, unpack(ARGV, 8, first_guard - 1))
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
return {added}
