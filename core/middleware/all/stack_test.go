package all

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

// The stack of bench/cmd/mwbench, in process: each middleware alone and all
// five in front of a handler answering a small JSON document, on a reused
// RequestCtx reset between requests as the server resets it. The figures
// are the middleware's own cost per request, without the socket.

const stackSecret = "mwbench-hs256-secret-of-at-least-32-bytes"

var stackConfigs = map[string]string{
	"request_id":  `{}`,
	"cors":        `{"allowed_origins":["https://app.example.com"]}`,
	"rate_limit":  `{"per_second":1000000,"burst":1000000000}`,
	"jwt_auth":    `{"algorithm":"HS256","secret":"` + stackSecret + `","issuer":"https://auth.example.com","audience":"https://api.example.com"}`,
	"compression": `{"gzip":true,"brotli":false,"min_size":1024}`,
}

var smallDoc = []byte(`{"id":1,"name":"widget","active":true,"price":19.99,"tags":["red","small"],"items":[]}`)

func stackHandler(b testing.TB, keys ...string) fasthttp.RequestHandler {
	b.Helper()
	m := map[string]json.RawMessage{"request_id": json.RawMessage(`{"enabled":false}`)}
	for _, k := range keys {
		m[k] = json.RawMessage(stackConfigs[k])
	}
	raw, _ := json.Marshal(m)
	mw, err := middleware.Chain(raw)
	if err != nil {
		b.Fatal(err)
	}
	return mw(func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(smallDoc)
	})
}

func stackRequest(b testing.TB) *fasthttp.RequestCtx {
	b.Helper()
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
		"sub": "user-42", "iss": "https://auth.example.com", "aud": "https://api.example.com",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(stackSecret))
	if err != nil {
		b.Fatal(err)
	}
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/json")
	req.Header.SetHost("127.0.0.1:8000")
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.SetContentType("application/json")
	req.SetBody(smallDoc)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	return ctx
}

func runStack(b *testing.B, keys ...string) {
	h := stackHandler(b, keys...)
	ctx := stackRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		ctx.ResetUserValues()
		h(ctx)
	}
	if ctx.Response.StatusCode() != 200 {
		b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func BenchmarkStackNone(b *testing.B)        { runStack(b) }
func BenchmarkStackRequestID(b *testing.B)   { runStack(b, "request_id") }
func BenchmarkStackCORS(b *testing.B)        { runStack(b, "cors") }
func BenchmarkStackRateLimit(b *testing.B)   { runStack(b, "rate_limit") }
func BenchmarkStackJWT(b *testing.B)         { runStack(b, "jwt_auth") }
func BenchmarkStackCompression(b *testing.B) { runStack(b, "compression") }
func BenchmarkStackFull(b *testing.B) {
	runStack(b, "request_id", "cors", "rate_limit", "jwt_auth", "compression")
}

// TestStackAnswers checks the benchmark's premise: the full stack lets the
// request through and every middleware leaves its mark.
func TestStackAnswers(t *testing.T) {
	h := stackHandler(t, "request_id", "cors", "rate_limit", "jwt_auth", "compression")
	ctx := stackRequest(t)
	for range 3 {
		ctx.Response.Reset()
		ctx.ResetUserValues()
		h(ctx)
		r := &ctx.Response
		if r.StatusCode() != 200 || string(r.Body()) != string(smallDoc) {
			t.Fatalf("status %d body %q", r.StatusCode(), r.Body())
		}
		for _, name := range []string{"X-Request-ID", "Access-Control-Allow-Origin", "RateLimit-Limit"} {
			if len(r.Header.Peek(name)) == 0 {
				t.Errorf("no %s", name)
			}
		}
	}
}
