package main

import (
	"testing"

	"github.com/spikard/spikard-go/bench/servekit/servetest"
)

// BenchmarkServe is the baseline's per-request cost without sockets.
func BenchmarkServe(b *testing.B) { servetest.Workloads(b, newServer()) }
