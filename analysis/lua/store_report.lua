-- Replace a consultation's report and routing priorities in one step.
-- KEYS[1] = {c:<cid>}:report, KEYS[2] = {c:<cid>}:priorities
-- ARGV[1] = report JSON, ARGV[2..] = sid, priority, sid, priority, ...
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return #ARGV - 1
