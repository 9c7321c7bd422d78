-- Add one signing key to a consultation, numbering it after the ones already there.
-- KEYS[1] = iss:{c:<cid>}:keys   ARGV[1] = key id (hex)   ARGV[2] = record JSON without seq
-- Returns the key's sequence number, or 0 when that key id already exists.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
local seq = redis.call('HLEN', KEYS[1]) + 1
local record = cjson.decode(ARGV[2])
record['seq'] = seq
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return seq
