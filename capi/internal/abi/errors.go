package abi

import (
	"fmt"
	"runtime/debug"
)

// Result codes, equal to the spikard_error values of include/spikard.h.
const (
	OK         int32 = 0
	EINVAL     int32 = -1
	EBADHANDLE int32 = -2
	EVERSION   int32 = -3
	ECONFIG    int32 = -4
	ETIMEOUT   int32 = -5
	ESTATE     int32 = -6
	ERANGE     int32 = -7
	ECLOSED    int32 = -8
	EIO        int32 = -9
	ENOTIMPL   int32 = -10
	EINTERNAL  int32 = -11
)

// Error is a failure with its ABI code. Entry points turn it into the code
// they return and the thread's last-error message.
type Error struct {
	Code int32
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errf(code int32, format string, a ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// result converts an internal result into the ABI's: the code, and the
// message recorded for the calling thread.
func result(err *Error) int32 {
	if err == nil {
		return OK
	}
	setError(err.Msg)
	return err.Code
}

// guard turns a panic that reached an entry point into SPIKARD_EINTERNAL: a
// Go panic must never unwind into the host's C frames.
func guard(code *int32, fn string) {
	if v := recover(); v != nil {
		logger.Error("libspikard: panic in "+fn, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		*code = result(errf(EINTERNAL, "%s: internal error: %v", fn, v))
	}
}
