-- GET /api/v1/orders/{id}, rotating over the seeded orders.
-- Environment: ORDERDESK_BENCH_ORDERS (a file with one order id per line).
dofile("common.lua")

local orders = {}
local file = io.open(os.getenv("ORDERDESK_BENCH_ORDERS") or "", "r") or error("ORDERDESK_BENCH_ORDERS is not readable")
for line in file:lines() do
   if #line > 0 then table.insert(orders, "/api/v1/orders/" .. line) end
end
file:close()
if #orders == 0 then error("no order ids") end

request = function()
   counter = counter + 1
   return wrk.format("GET", orders[(counter % #orders) + 1])
end
