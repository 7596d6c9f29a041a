// Command spikardgo serves the benchmark workloads through the Spikard Go
// API: parameters and bodies are declared with schemas and the core does the
// coercion and validation the other servers do by hand.
package main

import (
	"log"

	"github.com/spikard/spikard-go"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

func main() {
	app := spikard.New(spikard.Config{Host: "127.0.0.1"})
	app.Get("/json", func(c *spikard.Ctx) error {
		return c.JSON(200, workload.HelloWorld)
	})
	app.Get("/users/{id:int}/posts/{slug}", func(c *spikard.Ctx) error {
		return c.JSON(200, workload.Post{ID: c.Path("id").Int(), Slug: c.Path("slug").String()})
	})
	app.Get("/search", func(c *spikard.Ctx) error {
		return c.JSON(200, workload.Search{
			Q: c.Query("q").String(), Limit: c.Query("limit").Int(), Page: c.Query("page").Int(),
		})
	},
		spikard.Query("q", workload.QSchema),
		spikard.Query("limit", workload.LimitSchema),
		spikard.Query("page", workload.PageSchema),
	)
	// Both POST routes echo the request bytes, as the other servers do; the
	// core has already decoded (and on /items validated) the body.
	app.Post("/items", func(c *spikard.Ctx) error {
		return c.Send(200, "application/json", c.RawBody())
	}, spikard.Body(workload.ItemSchema))
	app.Post("/items-raw", func(c *spikard.Ctx) error {
		return c.Send(200, "application/json", c.RawBody())
	})
	log.Fatal(app.Serve(servekit.Listen()))
}
