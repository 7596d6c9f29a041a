// Package all links every middleware of the core into the binary: each
// package registers itself with the middleware registry in init.
package all

import (
	// One blank import per middleware package, e.g.
	// _ "github.com/spikard/spikard-go/core/middleware/cors"
	_ "github.com/spikard/spikard-go/core/middleware/auth/apikey"
	_ "github.com/spikard/spikard-go/core/middleware/auth/jwt"
	_ "github.com/spikard/spikard-go/core/middleware/bodylimit"
	_ "github.com/spikard/spikard-go/core/middleware/compress"
	_ "github.com/spikard/spikard-go/core/middleware/cors"
	_ "github.com/spikard/spikard-go/core/middleware/ratelimit"
	_ "github.com/spikard/spikard-go/core/middleware/ratelimit/redisstore"
	_ "github.com/spikard/spikard-go/core/middleware/requestid"
	_ "github.com/spikard/spikard-go/core/middleware/static"
	_ "github.com/spikard/spikard-go/core/middleware/timeout"
)
