// Command capi is libspikard, the C library of the Spikard runtime:
//
//	go build -buildmode=c-shared -o build/libspikard.so ./capi
//	go build -buildmode=c-archive -o build/libspikard.a ./capi
//
// The contract is the hand-written include/spikard.h; the header cgo writes
// next to the library is not API. The entry points are defined in
// capi/internal/abi (Go exports and cside.c), which this package links in.
// On Linux, link with libspikard.map so that the shared library exports the
// header's functions and nothing else (cgo refuses the flag in a #cgo
// directive, so it goes on the command line):
//
//	go build -buildmode=c-shared -ldflags="-extldflags=-Wl,--version-script=$PWD/capi/libspikard.map" \
//		-o build/libspikard.so ./capi
package main

import _ "github.com/spikard/spikard-go/capi/internal/abi"

func main() {}
