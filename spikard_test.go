package spikard_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/spikard/spikard-go"
)

func TestUseAndWithConfigureMiddleware(t *testing.T) {
	app := spikard.New()
	app.Use("cors", map[string]any{"allowed_origins": []string{"https://a.example"}})
	app.Get("/x", func(c *spikard.Ctx) error { return c.JSON(200, map[string]int{"n": 1}) },
		spikard.With("api_key_auth", map[string]any{"keys": []string{"k1"}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(ln)
	defer app.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()
	req, _ := http.NewRequest("GET", base+"/x", nil)
	req.Header.Set("Origin", "https://a.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || res.Header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Fatalf("without a key: %d %v %s", res.StatusCode, res.Header, b)
	}
	req.Header.Set("X-API-Key", "k1")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"n":1`) || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("with a key: %d %v %s", res.StatusCode, res.Header, b)
	}
	bad := spikard.New().Use("nonexistent", map[string]any{})
	bad.Get("/", func(c *spikard.Ctx) error { return nil })
	if err := bad.Build(); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("unknown middleware: %v", err)
	}
}
