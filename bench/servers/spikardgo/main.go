// Command spikardgo serves the benchmark routes through the Spikard Go API:
// parameters and bodies are declared with the JSON Schemas of the workload
// table, and the core does the coercion and validation the peers do by hand.
package main

import (
	"log"
	"strconv"

	"github.com/spikard/spikard-go"
	"github.com/spikard/spikard-go/bench/servekit"
	"github.com/spikard/spikard-go/bench/workload"
)

// object writes the named values as one JSON object, in order.
func object(names []string, get func(string) any) []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, n)
		b = append(b, ':')
		b = appendValue(b, get(n))
	}
	return append(b, '}')
}

func handler(r *workload.Route) spikard.Handler {
	var names []string
	for _, p := range r.Params {
		names = append(names, p.Name)
	}
	switch r.Kind {
	case workload.KindEcho:
		// The core has parsed (and on /v/json validated) the body.
		return func(c *spikard.Ctx) error { return c.Send(200, "application/json", c.RawBody()) }
	case workload.KindPath:
		return func(c *spikard.Ctx) error {
			return c.Send(200, "application/json", object(names, func(n string) any { return c.Path(n).Any() }))
		}
	case workload.KindQuery:
		return func(c *spikard.Ctx) error {
			return c.Send(200, "application/json", object(names, func(n string) any { return c.Query(n).Any() }))
		}
	case workload.KindForm:
		return func(c *spikard.Ctx) error {
			form, _ := c.Body().(map[string]any)
			return c.Send(200, "application/json", object(names, func(n string) any { return form[n] }))
		}
	case workload.KindMultipart:
		return func(c *spikard.Ctx) error {
			form, _ := c.Body().(map[string]any)
			file, _ := form["file"].(map[string]any)
			title, _ := form["title"].(string)
			if file == nil {
				return spikard.NewProblem(422, "missing-file", "Missing file", "the form has no file part")
			}
			return c.JSON(200, map[string]any{"title": title, "filename": file["filename"], "size": file["size"]})
		}
	}
	panic("spikardgo: unknown route kind " + r.Kind)
}

func newApp() *spikard.App {
	app := spikard.New(spikard.Config{Host: "127.0.0.1"})
	for _, r := range workload.Routes {
		for _, validated := range []bool{false, true} {
			path, body := r.Path, r.PlainBody
			if validated {
				path, body = r.ValidatedPath(), r.Body
			}
			var opts []spikard.Option
			for _, p := range r.Params {
				schema := p.Plain
				if validated {
					schema = p.Schema
				}
				switch r.Kind {
				case workload.KindPath:
					opts = append(opts, spikard.PathParam(p.Name, spikard.Schema(schema)))
				case workload.KindQuery:
					opts = append(opts, spikard.Query(p.Name, spikard.Schema(schema)))
				}
			}
			if r.Kind == workload.KindForm {
				body = workload.FormSchema(r, validated)
			}
			if body != nil {
				opts = append(opts, spikard.Body(spikard.Schema(body)))
			}
			app.Route(r.Method, path, handler(r), opts...)
		}
	}
	return app
}

func main() { log.Fatal(newApp().Serve(servekit.Listen())) }
