-- wrk script of scripts/bench-results-day: every request is a different student's read,
-- rotating through the lines of the file named by WRK_REQUESTS ("path<TAB>token"; with an
-- empty token no Authorization header is sent). Each of the WRK_THREADS threads takes every
-- n-th line, so together they open each line once before any is opened twice; with
-- WRK_ONE_PASS=1 a thread stops once each of its lines has been answered. Answers are counted
-- by status (and those marked possibly stale, `X-Eportal-Stale`), and the run ends with one
-- `result …` line that the script reads.
--
-- The same file drives eportal and nginx, so both get the same requests, headers and
-- connections; nginx answers every path with its one file.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = os.getenv("WRK_REQUESTS")
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  reqs = {}
  local n, i = 0, 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local path, token = line:match("^([^\t]*)\t?(.*)$")
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      n = n + 1
      reqs[n] = wrk.format("GET", path, headers)
    end
    i = i + 1
  end
  count = n
  made = 0
  answered = 0
  stale = 0
  one_pass = os.getenv("WRK_ONE_PASS") == "1"
  statuses = {}
end

function request()
  made = made + 1
  return reqs[(made - 1) % count + 1]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if headers["x-eportal-stale"] then
    stale = stale + 1
  end
  answered = answered + 1
  if one_pass and answered >= count then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, distinct, stale_total = {}, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do
      total[k] = (total[k] or 0) + v
    end
    distinct = distinct + math.min(t:get("answered"), t:get("count"))
    stale_total = stale_total + t:get("stale")
  end
  local keys = {}
  for k in pairs(total) do
    table.insert(keys, k)
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    table.insert(parts, k .. ":" .. total[k])
  end
  local e = summary.errors
  io.write(string.format(
    "result requests=%d seconds=%.2f rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f distinct=%d stale=%d socket_errors=%d timeouts=%d statuses=%s\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, distinct, stale_total,
    e.connect + e.read + e.write, e.timeout, table.concat(parts, ",")))
end
