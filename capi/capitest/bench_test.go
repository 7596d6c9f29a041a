package capitest

import (
	"testing"

	"github.com/spikard/spikard-go/bench/servekit/servetest"
	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
)

const benchDoc = `{"version":1,"routes":[
 {"method":"POST","path":"/json","handler":"echo"},
 {"method":"GET","path":"/path/int/{id}","handler":"path","parameters":{"path":{"id":{"type":"integer"}}}}]}`

var (
	benchJSON = []byte("POST /json HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: application/json\r\nContent-Length: 86\r\n\r\n" +
		`{"id":1,"name":"widget","active":true,"price":19.99,"tags":["red","small"],"items":[]}`)
	benchPath = []byte("GET /path/int/42 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n")
)

// BenchmarkCallback is a C callback handler's whole request, socket aside
// (servetest.ServeLoop), to set beside BenchmarkGoAPI: the same routes
// answered by Go handlers. Their difference is what the C ABI costs.
func BenchmarkCallback(b *testing.B) {
	h := newApp(b, benchDoc)
	for _, name := range []string{"echo", "path"} {
		if rc, msg := HandleC(h, name, CEchoBody, false); rc != OK {
			b.Fatal(msg)
		}
	}
	s, err := Server(h)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json-small", func(b *testing.B) { servetest.ServeLoop(b, s, benchJSON) })
	b.Run("path-int", func(b *testing.B) { servetest.ServeLoop(b, s, benchPath) })
	b.Run("json-small-parallel", func(b *testing.B) { servetest.ServeParallel(b, s, benchJSON) })
}

func BenchmarkGoAPI(b *testing.B) {
	cfg, err := config.Parse([]byte(benchDoc))
	if err != nil {
		b.Fatal(err)
	}
	a := app.New(*cfg)
	echo := func(c *app.Ctx) error { return c.Send(200, "application/json", c.Fast().Request.Body()) }
	a.Handle("echo", echo)
	a.Handle("path", echo)
	s, err := a.Server()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json-small", func(b *testing.B) { servetest.ServeLoop(b, s, benchJSON) })
	b.Run("path-int", func(b *testing.B) { servetest.ServeLoop(b, s, benchPath) })
	b.Run("json-small-parallel", func(b *testing.B) { servetest.ServeParallel(b, s, benchJSON) })
}
