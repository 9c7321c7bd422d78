-- replay.lua in "once" mode: each request goes out exactly once (tokens are single-use).
--
--   wrk -t T -c C -d S -s bench/wrk/once.lua <url> -- <file> once <T>
--
-- wrk asks delay() before every request; a connection with nothing left to send is parked
-- for a minute instead, and response() stops the thread once every request is answered.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "replay.lua")

function delay()
  if next_request > #requests then
    return 60000
  end
  return 0
end
