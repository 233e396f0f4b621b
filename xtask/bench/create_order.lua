-- POST /api/v1/orders with a unique item per request.
-- Environment: ORDERDESK_BENCH_CUSTOMERS (comma-separated customer ids; orders rotate over them).
dofile("common.lua")

local customers = {}
for id in string.gmatch(os.getenv("ORDERDESK_BENCH_CUSTOMERS") or "", "[^,]+") do
   table.insert(customers, id)
end
if #customers == 0 then error("ORDERDESK_BENCH_CUSTOMERS is empty") end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
   local unique = next_unique()
   local customer = customers[(counter % #customers) + 1]
   local body = string.format('{"customer_id":"%s","item":"Bench item %s","amount":"250.50"}', customer, unique)
   return wrk.format(nil, "/api/v1/orders", nil, body)
end
