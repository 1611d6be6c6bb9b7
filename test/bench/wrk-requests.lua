-- wrk script for proxy.bench.ts: sends the raw requests of a request-set file
-- (for each request: its byte length, "\n", the bytes), rotating through them in
-- order across all connections of the thread. Every scenario goes through
-- request(), so wrk's own per-request cost is the same whether the set holds one
-- request or 10,000. done() prints one machine-readable "BENCH" line, latencies in µs.
-- OFFSET (default 0) is where the rotation starts, so that successive runs
-- against one target continue the cycle instead of restarting it.
-- Usage: wrk -t1 -cN -dDs -s wrk-requests.lua URL -- REQUEST_FILE [OFFSET]
local reqs, n, i = {}, 0, 0

function init(args)
  local file = args[1] or error("request file argument missing (after --)")
  local f = assert(io.open(file, "rb"))
  while true do
    local len = f:read("*l")
    if not len then break end
    local bytes = f:read(tonumber(len))
    n = n + 1
    reqs[n] = bytes
  end
  f:close()
  if n == 0 then error("no requests in " .. file) end
  i = (tonumber(args[2] or "0") or 0) % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    "BENCH requests=%d duration_us=%d non2xx=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d min=%d max=%d mean=%.1f",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency.min, latency.max, latency.mean)
  for _, p in ipairs({ 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99 }) do
    out = out .. string.format(" p%s=%d", (tostring(p):gsub("%.", "_")), latency:percentile(p))
  end
  io.write(out .. "\n")
end
