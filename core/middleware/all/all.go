// Package all links every middleware of the core into the binary: each
// package registers itself with the middleware registry in init.
package all

import (
// One blank import per middleware package, e.g.
// _ "github.com/spikard/spikard-go/core/middleware/cors"
)
