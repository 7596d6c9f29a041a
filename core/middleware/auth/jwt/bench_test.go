package jwt

import (
	"encoding/json"
	"testing"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// benchVerify measures the middleware's hot path: a valid token verified
// and its claims stored, the handler reached.
func benchVerify(b *testing.B, cfg map[string]any, m gojwt.SigningMethod, key any) {
	raw, _ := json.Marshal(cfg)
	mw := mustMW(b, string(raw))
	tok := sign(b, m, key, baseClaims(), nil)
	reached := 0
	h := mw(func(ctx *fasthttp.RequestCtx) { reached++ })
	var req fasthttp.Request
	req.SetRequestURI("/")
	req.Header.Set("Authorization", "Bearer "+tok)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		h(&ctx)
	}
	if reached == 0 {
		b.Fatal("handler not reached")
	}
}

func BenchmarkVerifyHS256(b *testing.B) {
	benchVerify(b, map[string]any{"algorithm": "HS256", "secret": secret,
		"issuer": "https://auth.example.com", "audience": "https://api.example.com"},
		gojwt.SigningMethodHS256, []byte(secret))
}

func BenchmarkVerifyRS256(b *testing.B) {
	benchVerify(b, map[string]any{"algorithm": "RS256", "public_key": pemPublic(b, &rsaKey.PublicKey)},
		gojwt.SigningMethodRS256, rsaKey)
}

func BenchmarkVerifyES256(b *testing.B) {
	benchVerify(b, map[string]any{"algorithm": "ES256", "public_key": pemPublic(b, &ecKey.PublicKey)},
		gojwt.SigningMethodES256, ecKey)
}

func BenchmarkVerifyEdDSA(b *testing.B) {
	benchVerify(b, map[string]any{"algorithm": "EdDSA", "public_key": pemPublic(b, edPub)},
		gojwt.SigningMethodEdDSA, edKey)
}

// BenchmarkRejectMissing is the cheapest rejection (prerendered problem).
func BenchmarkRejectMissing(b *testing.B) {
	mw := mustMW(b, hsCfg)
	h := mw(func(ctx *fasthttp.RequestCtx) {})
	var req fasthttp.Request
	req.SetRequestURI("/")
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		h(&ctx)
	}
}
