-- Shared by every orderdesk wrk scenario: the bearer header, a per-thread id for unique
-- bodies, and a machine-readable summary line that `cargo xtask bench` parses.
-- Environment: ORDERDESK_BENCH_TOKEN (an access token).

local token = os.getenv("ORDERDESK_BENCH_TOKEN") or error("ORDERDESK_BENCH_TOKEN is not set")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local threads = {}
local next_thread = 0

function setup(thread)
   thread:set("thread_id", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state): a counter for unique values.
counter = 0
function next_unique()
   counter = counter + 1
   return string.format("%d-%d-%d", run_id or 0, thread_id or 0, counter)
end
-- A number (it goes into customer codes and phone-free ids); an unset or bad value is an error,
-- since two runs with one id would collide on unique codes.
run_id = tonumber(os.getenv("ORDERDESK_BENCH_RUN") or "") or error("ORDERDESK_BENCH_RUN must be a number")

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "ORDERDESK_BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect + e.read + e.write + e.timeout))
end
