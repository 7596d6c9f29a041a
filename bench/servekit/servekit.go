// Package servekit is the little startup code the benchmark servers share,
// so that each server's main holds only its routes: listen on a free port and
// tell the driver which, honour a CPU-profile request, and exit cleanly on
// SIGTERM (which is when a profile must be flushed).
package servekit

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// ReadyPrefix starts the one line a server prints on stdout once it listens;
// the rest of the line is its host:port. Printing the address (rather than
// the driver choosing a port) avoids any race for a "free" port.
const ReadyPrefix = "listening on "

// ProfileEnv names the file a server writes a CPU profile of its whole life
// to. The driver sets it for spikard-go under -profile.
const ProfileEnv = "SPIKARD_CPUPROFILE"

// Listen parses the -addr flag, listens, starts the optional CPU profile,
// arranges for SIGTERM/SIGINT to stop it and exit, and announces the address.
func Listen() net.Listener {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0: any free port)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	stopProfile := func() {}
	if path := os.Getenv(ProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		// No graceful drain: the driver only stops a server after wrk has
		// finished, and waiting on keep-alive connections would only slow
		// the run down.
		stopProfile()
		os.Exit(0)
	}()
	fmt.Printf("%s%s\n", ReadyPrefix, ln.Addr())
	return ln
}
