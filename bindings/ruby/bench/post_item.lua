wrk.method = "POST"
wrk.body   = '{"name":"Widget","price":9.99,"tags":["tools","garden"]}'
wrk.headers["Content-Type"] = "application/json"
