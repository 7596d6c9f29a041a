package main

import (
	"testing"

	"github.com/spikard/spikard-go/bench/servekit/servetest"
)

// BenchmarkServe is this server's per-request cost without sockets, to set
// beside rawfasthttp's BenchmarkServe (same workloads, same wire bytes).
func BenchmarkServe(b *testing.B) {
	s, err := newApp().Core().Server()
	if err != nil {
		b.Fatal(err)
	}
	servetest.Workloads(b, s)
}
