package main

import (
	"fmt"
	"log"
	"os"

	"github.com/spikard/spikard-go"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

// serveEnv names the variant a re-executed mwbench (or its test binary)
// serves instead of benchmarking: each variant is its own server process,
// so its CPU is measured alone.
const serveEnv = "MWBENCH_SERVE"

// serve runs the variant's server until SIGTERM: the benchmark's json
// route exactly as bench/servers/spikardgo serves it (the body echoed),
// with the variant's middleware app-wide. It never returns.
func serve(name string) {
	v := variantByName(name)
	if v == nil {
		fmt.Fprintf(os.Stderr, "mwbench: unknown variant %q\n", name)
		os.Exit(2)
	}
	app, err := v.app()
	if err != nil {
		log.Fatalf("mwbench: variant %s: %v", name, err)
	}
	log.Fatal(app.Serve(servekit.Listen()))
}

// app is the variant's server: the json route with its middleware.
func (v *variant) app() (*spikard.App, error) {
	app := spikard.New(spikard.Config{Host: "127.0.0.1"})
	for key, cfg := range v.middleware() {
		app.Use(key, cfg)
	}
	for _, r := range workload.Routes {
		if r.Kind == workload.KindEcho {
			app.Route(r.Method, r.Path, func(c *spikard.Ctx) error {
				return c.Send(200, "application/json", c.RawBody())
			})
		}
	}
	return app, app.Build()
}
