package jwt

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// FuzzJWT feeds arbitrary Authorization header values: the middleware must
// never panic, must answer every rejection with a 401/403 problem and a
// Bearer challenge, and must only let through tokens that an independent
// strict verification accepts.
func FuzzJWT(f *testing.F) {
	cfg := `{"algorithm":"HS256","secret":"` + secret + `","issuer":"https://auth.example.com","audience":"https://api.example.com"}`
	mw := mustMW(f, cfg)
	valid := sign(f, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil)
	parts := strings.Split(valid, ".")
	for _, s := range []string{
		"", "Bearer", "Bearer ", "bearer " + valid, "Bearer " + valid, "Bearer  " + valid + "  ",
		"Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer invalid.token", "Bearer ....",
		"Bearer " + b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		"Bearer " + parts[0] + "." + parts[1] + ".AAAA",
		"Bearer " + b64(`{"alg":"HS256","crit":["b64"]}`) + "." + parts[1] + "." + parts[2],
		"Bearer " + parts[0] + "." + b64(`{"exp":1e400}`) + "." + parts[2],
		"Bearer " + parts[0] + "." + b64(`{"exp":"x","aud":{}}`) + "." + parts[2],
		"Bearer \x00\xff.\x01.\x02",
	} {
		f.Add(s)
	}
	h := mw(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	f.Fuzz(func(t *testing.T, header string) {
		var req fasthttp.Request
		req.SetRequestURI("/")
		req.Header.Set("Authorization", header)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		h(&ctx)
		status := ctx.Response.StatusCode()
		if status >= 200 && status < 300 {
			if !independentlyValid(string(ctx.Request.Header.Peek("Authorization"))) {
				t.Fatalf("%q let through", header)
			}
			if Claims(&ctx) == nil {
				t.Fatalf("%q: no claims stored", header)
			}
			return
		}
		if status != 401 && status != 403 {
			t.Fatalf("%q: status %d", header, status)
		}
		if !strings.HasPrefix(string(ctx.Response.Header.Peek("WWW-Authenticate")), "Bearer") {
			t.Fatalf("%q: no Bearer challenge", header)
		}
		if string(ctx.Response.Header.ContentType()) != "application/problem+json" {
			t.Fatalf("%q: content type %q", header, ctx.Response.Header.ContentType())
		}
		var p map[string]any
		if err := json.Unmarshal(ctx.Response.Body(), &p); err != nil || p["status"] != float64(status) || p["title"] == "" {
			t.Fatalf("%q: problem %q", header, ctx.Response.Body())
		}
	})
}

func independentlyValid(header string) bool {
	h := strings.Trim(header, " \t")
	if len(h) < 7 || !strings.EqualFold(h[:6], "bearer") || (h[6] != ' ' && h[6] != '\t') {
		return false
	}
	tok := strings.Trim(h[7:], " \t")
	_, err := gojwt.Parse(tok, func(*gojwt.Token) (any, error) { return []byte(secret), nil },
		gojwt.WithValidMethods([]string{"HS256"}),
		gojwt.WithExpirationRequired(),
		gojwt.WithIssuer("https://auth.example.com"),
		gojwt.WithAudience("https://api.example.com"),
		gojwt.WithTimeFunc(time.Now),
	)
	return err == nil
}
