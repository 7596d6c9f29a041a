-- wrk script: the validated JSON POST of the benchmark
wrk.method = "POST"
wrk.body = '{"name":"widget","price":9.99,"tags":["red","small"]}'
wrk.headers["Content-Type"] = "application/json"
