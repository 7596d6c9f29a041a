package app_test

import (
	"testing"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
)

// Two apps (as two worker processes would) listen on one port only with
// reuse_port; without it the second bind fails.
func TestReusePortSharesAPort(t *testing.T) {
	a := app.New(config.App{Server: config.Server{ReusePort: true}})
	b := app.New(config.App{Server: config.Server{ReusePort: true}})
	ln1, err := a.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln1.Close()
	ln2, err := b.Listen(ln1.Addr().String())
	if err != nil {
		t.Fatalf("second listener with reuse_port: %v", err)
	}
	ln2.Close()
	plain := app.New(config.App{})
	if ln3, err := plain.Listen(ln1.Addr().String()); err == nil {
		ln3.Close()
		t.Fatal("a listener without reuse_port bound a port in use")
	}
}
