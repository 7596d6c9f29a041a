// Command gohello serves the C benchmark's handler with the Go API, as the
// baseline the C dispatch modes are measured against:
//
//	go run ./bindings/c/bench/gohello -port 8080
//	wrk -t2 -c64 -d6s http://127.0.0.1:8080/json
package main

import (
	"flag"
	"log"

	spikard "github.com/spikard/spikard-go"
)

var body = []byte(`{"message":"Hello, World!"}`)

func main() {
	port := flag.Int("port", 8080, "listen port on 127.0.0.1")
	flag.Parse()
	app := spikard.New(spikard.Config{Host: "127.0.0.1", Port: *port})
	app.Get("/json", func(c *spikard.Ctx) error {
		return c.Send(200, "application/json", body)
	})
	log.Fatal(app.Run())
}
