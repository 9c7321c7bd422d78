-- Replays ready-made HTTP/1.1 requests under wrk 4 (bench/bench_http.py writes them).
--
--   wrk -t T -c C -d S -s bench/wrk/replay.lua <url> -- <file> <once|cycle> <T> [<keep>]
--
-- <file> holds complete requests separated by NUL bytes. Thread i of T sends requests
-- i, i + T, i + 2T, ... so no request goes out twice across threads. "cycle": a thread
-- starts again from its first request when its share is used up. "once" (for tokens,
-- which can be spent only once) needs bench/wrk/once.lua, which adds a delay() that parks
-- a connection with nothing left to send; the thread stops at its last answer. (Two
-- connections may pass delay() for the last request; the one that finds nothing left
-- sends GET /healthz instead, a "filler" taken out of the totals and the 200s.) Every
-- status is counted per thread, and done() prints one JSON line (prefix "wrk-result ")
-- with the totals, latency percentiles, status mix and "active_us" (first request to last
-- answer; wrk's own duration is always the full -d, even when the threads stopped early). With <keep>, thread i also writes
-- the body of every 2xx answer as one line to <keep>-<i> (bench/load.py keeps the
-- sessions that joins hand out; the bodies are JSON without newlines).

local threads = {}

-- Wall clock in microseconds (LuaJIT FFI): wrk ends the run only after -d even when every
-- thread stopped early, so "once" runs time themselves from first request to last answer.
local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_usec; } replay_timeval;
  int gettimeofday(replay_timeval *tv, void *tz);
]])
local timeval = ffi.new("replay_timeval")
local function now_us()
  ffi.C.gettimeofday(timeval, nil)
  return tonumber(timeval.tv_sec) * 1000000 + tonumber(timeval.tv_usec)
end

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  once = args[2] == "once"
  local count = tonumber(args[3])
  requests = {}
  local index, start = 0, 1
  while start <= #data do
    local stop = string.find(data, "\0", start, true) or (#data + 1)
    if index % count == thread_index then
      requests[#requests + 1] = string.sub(data, start, stop - 1)
    end
    index = index + 1
    start = stop + 1
  end
  next_request = 1
  -- wrk 4 calls request() once on thread 0 before the run to check what it returns
  -- (script_verify_request) and never sends that: it must not use up a request.
  probe = thread_index == 0
  statuses = {}
  answered = 0
  first_us = 0
  last_us = 0
  fillers = 0
  filler = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
  if args[4] then
    kept = assert(io.open(args[4] .. "-" .. thread_index, "wb"))
    kept:setvbuf("line")
  end
end

function request()
  if probe then
    probe = false
    return requests[1] or filler
  end
  if first_us == 0 then
    first_us = now_us()
  end
  if next_request > #requests then
    if once then
      fillers = fillers + 1
      return filler
    end
    next_request = 1
  end
  local out = requests[next_request]
  next_request = next_request + 1
  return out
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  answered = answered + 1
  last_us = now_us()
  if kept and status >= 200 and status < 300 then
    kept:write(body, "\n")
  end
  if once and answered >= #requests + fillers then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests_stats)
  local mix = {}
  local filled = 0
  local first, last = 0, 0
  for _, thread in ipairs(threads) do
    local began, ended = thread:get("first_us"), thread:get("last_us")
    if began > 0 and (first == 0 or began < first) then
      first = began
    end
    if ended > last then
      last = ended
    end
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      mix[status] = (mix[status] or 0) + n
    end
    filled = filled + thread:get("fillers")
  end
  if filled > 0 then
    mix["200"] = (mix["200"] or 0) - filled
    if mix["200"] <= 0 then
      mix["200"] = nil
    end
  end
  local parts = {}
  for status, n in pairs(mix) do
    parts[#parts + 1] = string.format('"%s": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'wrk-result {"requests": %d, "fillers": %d, "duration_us": %d, "active_us": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests - filled, filled, summary.duration, last - first, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, table.concat(parts, ", "), e.connect, e.read,
    e.write, e.status, e.timeout))
end
