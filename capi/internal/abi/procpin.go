package abi

import _ "unsafe" // go:linkname

// procPin returns the id of the P (scheduler slot) the goroutine runs on
// and keeps it there until procUnpin. Linknamed by widely used packages:
// the runtime keeps both for them.
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// pHint is the current P's id: a waiting shard chosen by it stays in that
// core's cache (a shard chosen by connection moved between the cores with
// the connection's goroutine). Only a hint: the goroutine may move on.
func pHint() uint64 {
	id := procPin()
	procUnpin()
	return uint64(id)
}
