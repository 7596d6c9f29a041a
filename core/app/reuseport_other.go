//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package app

import (
	"errors"
	"syscall"
)

func reusePort(_, _ string, _ syscall.RawConn) error {
	return errors.New("reuse_port is not supported on this platform")
}
