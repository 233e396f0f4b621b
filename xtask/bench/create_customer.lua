-- POST /api/v1/customers with a unique code per request.
dofile("common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
   local unique = next_unique()
   local body = string.format('{"name":"Bench customer %s","code":"B%s","phone":"+254712%06d"}',
      unique, unique, counter % 1000000)
   return wrk.format(nil, "/api/v1/customers", nil, body)
end
