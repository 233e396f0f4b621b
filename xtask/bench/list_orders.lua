-- GET /api/v1/orders?limit=50: the newest 50 orders.
dofile("common.lua")

wrk.method = "GET"
wrk.path = "/api/v1/orders?limit=50"
