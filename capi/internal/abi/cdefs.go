package abi

// The C half of the ABI lives in cside.c: the per-thread error message, the
// version getters, the callback trampoline and the in-callback fast path of
// spikard_respond. This file holds the cgo flags of the package and the Go
// views of those C functions.

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include -O2 -Wall
#include <stdlib.h>
#include "cside.h"
*/
import "C"

import "unsafe"

// setError records msg as the calling thread's last error.
func setError(msg string) {
	if msg == "" {
		msg = "unknown error"
	}
	// spikard__set_error copies it (and tells memcheck Go's bytes are
	// defined: see SK_FROM_GO in cside.c).
	C.spikard__set_error((*C.char)(unsafe.Pointer(unsafe.StringData(msg))), C.size_t(len(msg)))
}

// LastError returns the calling thread's last error message. A goroutine
// must be locked to its thread (runtime.LockOSThread) between the failing
// call and this one for the answer to be meaningful; C callers always are.
func LastError() string { return C.GoString(C.spikard_last_error()) }

// StrError returns the static description of a code.
func StrError(code int32) string { return C.GoString(C.spikard_strerror(C.int(code))) }

// ABIVersion and Version are the values the C getters return.
func ABIVersion() uint32 { return uint32(C.spikard_abi_version()) }
func Version() string    { return C.GoString(C.spikard_version()) }
