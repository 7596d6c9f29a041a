// Command demo serves a small typed, validated API on 127.0.0.1:8000 with
// embedded defaults: `go tool task demo`.
package main

import (
	"flag"
	"log"
	"sync"
	"sync/atomic"

	"github.com/spikard/spikard-go"
)

type item struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags,omitempty"`
}

// itemSchema is the JSON Schema of an item as answered (response_schema: the
// core checks every answer against it, and the OpenAPI document shows it).
const itemSchema = `{
	"title": "Item",
	"type": "object",
	"required": ["id", "name", "price"],
	"properties": {
		"id": {"type": "integer"},
		"name": {"type": "string"},
		"price": {"type": "number"},
		"tags": {"type": "array", "items": {"type": "string"}}
	}
}`

func main() {
	host := flag.String("host", "127.0.0.1", "listen address")
	port := flag.Int("port", 8000, "listen port")
	flag.Parse()

	var (
		mu    sync.RWMutex
		items = map[int64]item{1: {ID: 1, Name: "Widget", Price: 9.5, Tags: []string{"tools"}}}
		next  atomic.Int64
	)
	next.Store(1)

	app := spikard.New(spikard.Config{Host: *host, Port: *port}).Docs("Spikard demo", "1.0.0")
	app.Get("/health", func(c *spikard.Ctx) error {
		return c.JSON(200, map[string]string{"status": "ok"})
	}, spikard.Response(`{"type":"object","required":["status"],"properties":{"status":{"type":"string","enum":["ok"]}}}`))
	app.Get("/items", func(c *spikard.Ctx) error {
		limit := c.Query("limit").Int()
		mu.RLock()
		defer mu.RUnlock()
		out := make([]item, 0, len(items))
		for _, it := range items {
			if int64(len(out)) == limit {
				break
			}
			out = append(out, it)
		}
		return c.JSON(200, out)
	}, spikard.OptionalQuery("limit", `{"type":"integer","minimum":1,"maximum":100,"default":10}`),
		spikard.Response(`{"type":"array","items":`+itemSchema+`}`))
	app.Get("/items/{id:int}", func(c *spikard.Ctx) error {
		mu.RLock()
		it, ok := items[c.Path("id").Int()]
		mu.RUnlock()
		if !ok {
			return spikard.NewProblem(404, "not-found", "Not Found", "No item with this id")
		}
		return c.JSON(200, it)
	}, spikard.Response(itemSchema))
	app.Post("/items", func(c *spikard.Ctx) error {
		var it item
		if err := c.Bind(&it); err != nil {
			return err
		}
		it.ID = next.Add(1)
		mu.Lock()
		items[it.ID] = it
		mu.Unlock()
		// 200, the status the OpenAPI document lists for the operation: a
		// route cannot declare another success status yet.
		return c.JSON(200, it)
	}, spikard.Response(itemSchema), spikard.Body(`{
		"type": "object",
		"required": ["name", "price"],
		"properties": {
			"name": {"type": "string", "minLength": 1, "maxLength": 100},
			"price": {"type": "number", "exclusiveMinimum": 0},
			"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10}
		},
		"additionalProperties": false
	}`))
	log.Printf("spikard demo on http://%s:%d (try /items/1, /items?limit=abc, /docs)", *host, *port)
	if err := app.Run(); err != nil {
		log.Fatal(err)
	}
}
