package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
	"github.com/spikard/spikard-go/core/middleware"
	"github.com/valyala/fasthttp"
)

const secret = "unit-test-hmac-secret-0123456789abcdef"

var (
	rsaKey          = mustRSA()
	ecKey           = mustEC(elliptic.P256())
	ec384Key        = mustEC(elliptic.P384())
	edPub, edKey, _ = ed25519.GenerateKey(rand.Reader)
)

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func pemPublic(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t testing.TB, m gojwt.SigningMethod, key any, claims gojwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	tok := gojwt.NewWithClaims(m, claims)
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func future() int64 { return time.Now().Add(time.Hour).Unix() }

func baseClaims() gojwt.MapClaims {
	return gojwt.MapClaims{
		"sub": "user123",
		"exp": future(),
		"iat": time.Now().Unix(),
		"aud": []string{"https://api.example.com"},
		"iss": "https://auth.example.com",
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustMW(t testing.TB, cfg string) middleware.Middleware {
	t.Helper()
	mw, err := New(json.RawMessage(cfg))
	if err != nil {
		t.Fatalf("config %s: %v", cfg, err)
	}
	if mw == nil {
		t.Fatalf("config %s: no middleware", cfg)
	}
	return mw
}

// result is a served request.
type result struct {
	status    int
	challenge string
	ctype     string
	body      map[string]any
	claims    map[string]any
}

func okHandler(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(200)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(Claims(ctx))
	ctx.SetBody(b)
}

func serve(t testing.TB, mw middleware.Middleware, headers ...string) result {
	t.Helper()
	var req fasthttp.Request
	req.SetRequestURI("/protected")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	var got map[string]any
	mw(func(ctx *fasthttp.RequestCtx) {
		got = Claims(ctx)
		okHandler(ctx)
	})(&ctx)
	r := result{
		status:    ctx.Response.StatusCode(),
		challenge: string(ctx.Response.Header.Peek("WWW-Authenticate")),
		ctype:     string(ctx.Response.Header.ContentType()),
		claims:    got,
	}
	if r.status != 200 {
		if err := json.Unmarshal(ctx.Response.Body(), &r.body); err != nil {
			t.Fatalf("problem body %q: %v", ctx.Response.Body(), err)
		}
	}
	return r
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// expectProblem checks a 401/403 problem document exactly.
func expectProblem(t *testing.T, r result, status int, title, detail string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %v)", r.status, status, r.body)
	}
	if r.ctype != "application/problem+json" {
		t.Errorf("content type %q", r.ctype)
	}
	slug := "unauthorized"
	if status == 403 {
		slug = "forbidden"
	}
	want := map[string]any{"type": "https://spikard.dev/errors/" + slug, "title": title, "status": float64(status), "detail": detail}
	if len(r.body) != len(want) {
		t.Errorf("body %v, want %v", r.body, want)
	}
	for k, v := range want {
		if r.body[k] != v {
			t.Errorf("body.%s = %v, want %v", k, r.body[k], v)
		}
	}
	if !strings.HasPrefix(r.challenge, "Bearer") {
		t.Errorf("WWW-Authenticate %q, want a Bearer challenge", r.challenge)
	}
	if r.claims != nil {
		t.Errorf("handler reached")
	}
}

const hsCfg = `{"enabled":true,"algorithm":"HS256","secret":"` + secret + `"}`

func TestValidTokenPassesAndExposesClaims(t *testing.T) {
	mw := mustMW(t, hsCfg)
	tok := sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil)
	r := serve(t, mw, bearer(tok)...)
	if r.status != 200 {
		t.Fatalf("status %d: %v", r.status, r.body)
	}
	if r.claims["sub"] != "user123" || r.claims["iss"] != "https://auth.example.com" {
		t.Fatalf("claims %v", r.claims)
	}
	// Scheme is case-insensitive; surrounding blanks are tolerated.
	if r := serve(t, mw, "Authorization", "  bearer \t"+tok+" "); r.status != 200 {
		t.Fatalf("lower-case scheme: %d %v", r.status, r.body)
	}
}

func TestRegisteredInChain(t *testing.T) {
	mw, err := middleware.Chain(json.RawMessage(`{"jwt_auth":` + hsCfg + `}`))
	if err != nil || mw == nil {
		t.Fatalf("chain: %v", err)
	}
	expectProblem(t, serve(t, mw), 401, "Missing or invalid Authorization header", "Expected 'Authorization: Bearer <token>'")
}

func TestHeaderFailures(t *testing.T) {
	mw := mustMW(t, hsCfg)
	missing := func(r result) {
		t.Helper()
		expectProblem(t, r, 401, "Missing or invalid Authorization header", "Expected 'Authorization: Bearer <token>'")
		if r.challenge != "Bearer" {
			t.Errorf("challenge %q, want a bare Bearer challenge (RFC 6750 3.1)", r.challenge)
		}
	}
	missing(serve(t, mw))
	missing(serve(t, mw, "Authorization", ""))
	missing(serve(t, mw, "Authorization", "Bearer"))
	missing(serve(t, mw, "Authorization", "Bearer    "))
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearerabc.def.ghi", "Bearer-x y"} {
		expectProblem(t, serve(t, mw, "Authorization", h), 401, "Invalid Authorization header format",
			"Authorization header must use Bearer scheme: 'Bearer <token>'")
	}
}

func TestMalformedTokens(t *testing.T) {
	mw := mustMW(t, hsCfg)
	good := sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil)
	parts := strings.Split(good, ".")
	cases := []struct{ tok, detail string }{
		{"invalid.token", "Malformed JWT token: expected 3 parts separated by dots, found 2"},
		{"abc", "Malformed JWT token: expected 3 parts separated by dots, found 1"},
		{good + ".x", "Malformed JWT token: expected 3 parts separated by dots, found 4"},
		{"!!!." + parts[1] + "." + parts[2], "Malformed JWT token: header is not valid base64url"},
		{b64("{not json") + "." + parts[1] + "." + parts[2], "Malformed JWT token: header is not valid JSON"},
		{parts[0] + ".***." + parts[2], "Malformed JWT token: payload is not valid base64url"},
		{parts[0] + "." + b64(`{"sub":`) + "." + parts[2], "Malformed JWT token: payload is not valid JSON"},
		{parts[0] + "." + b64(`[1,2]`) + "." + parts[2], "Malformed JWT token: payload is not valid JSON"},
	}
	for _, c := range cases {
		r := serve(t, mw, bearer(c.tok)...)
		expectProblem(t, r, 401, "Malformed JWT token", c.detail)
		if !strings.Contains(r.challenge, `error="invalid_token"`) {
			t.Errorf("%s: challenge %q", c.tok, r.challenge)
		}
	}
}

func TestForgedAndInvalidTokens(t *testing.T) {
	mw := mustMW(t, `{"algorithm":"HS256","secret":"`+secret+`","issuer":"https://auth.example.com","audience":["https://api.example.com"]}`)
	hs := func(c gojwt.MapClaims) string { return sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil) }
	with := func(k string, v any) gojwt.MapClaims {
		c := baseClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := hs(baseClaims())
	parts := strings.Split(good, ".")
	noneTok := b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "."
	noneTok2 := b64(`{"alg":"NONE"}`) + "." + parts[1] + "." + parts[2]
	otherSecret := sign(t, gojwt.SigningMethodHS256, []byte("another-secret-another-secret!!"), baseClaims(), nil)
	tampered := parts[0] + "." + b64(`{"sub":"admin","exp":`+jsonNum(future())+`,"aud":"https://api.example.com","iss":"https://auth.example.com"}`) + "." + parts[2]
	hs512 := sign(t, gojwt.SigningMethodHS512, []byte(secret), baseClaims(), nil)
	noAlg := b64(`{"typ":"JWT"}`) + "." + parts[1] + "." + parts[2]

	cases := []struct {
		name, tok, detail string
	}{
		{"alg none", noneTok, "Token algorithm is invalid, expected 'HS256'"},
		{"alg NONE", noneTok2, "Token algorithm is invalid, expected 'HS256'"},
		{"alg missing", noAlg, "Token algorithm is invalid, expected 'HS256'"},
		{"other HMAC alg", hs512, "Token algorithm is invalid, expected 'HS256'"},
		{"wrong secret", otherSecret, "Token signature is invalid"},
		{"tampered payload", tampered, "Token signature is invalid"},
		{"signature not base64", parts[0] + "." + parts[1] + ".invalid_signature", "Token signature is invalid"},
		{"empty signature", parts[0] + "." + parts[1] + ".", "Token signature is invalid"},
		{"expired", hs(with("exp", time.Now().Add(-time.Minute).Unix())), "Token has expired"},
		{"exp now", hs(with("exp", time.Now().Unix())), "Token has expired"},
		{"exp not a number", hs(with("exp", "tomorrow")), "Token validation failed: 'exp' claim must be a number"},
		{"exp missing", hs(with("exp", nil)), "Token validation failed: missing required claim 'exp'"},
		{"nbf future", hs(with("nbf", time.Now().Add(time.Hour).Unix())), "JWT not valid yet, not before claim is in the future"},
		{"wrong issuer", hs(with("iss", "https://evil.example")), "Token issuer is invalid, expected 'https://auth.example.com'"},
		{"issuer missing", hs(with("iss", nil)), "Token issuer is invalid, expected 'https://auth.example.com'"},
		{"wrong audience", hs(with("aud", []string{"https://other.example"})), "Token audience is invalid"},
		{"audience missing", hs(with("aud", nil)), "Token audience is invalid"},
		{"audience wrong type", hs(with("aud", 42)), "Token audience is invalid"},
		{"crit header", sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), map[string]any{"crit": []string{"exp"}}),
			"Token validation failed: unsupported critical header parameters"},
		// Expiry is reported before issuer and audience.
		{"expired and wrong issuer", hs(gojwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix(), "iss": "x", "aud": "y"}), "Token has expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := serve(t, mw, bearer(c.tok)...)
			expectProblem(t, r, 401, "JWT validation failed", c.detail)
			if !strings.Contains(r.challenge, `error="invalid_token"`) || !strings.Contains(r.challenge, "error_description=") {
				t.Errorf("challenge %q", r.challenge)
			}
		})
	}

	// Audience as a plain string and as one of several.
	for _, aud := range []any{"https://api.example.com", []string{"https://admin.example.com", "https://api.example.com"}} {
		if r := serve(t, mw, bearer(hs(with("aud", aud)))...); r.status != 200 {
			t.Errorf("aud %v: %d %v", aud, r.status, r.body)
		}
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestLeewayAndOptionalExp(t *testing.T) {
	claims := gojwt.MapClaims{"sub": "u", "exp": time.Now().Add(-30 * time.Second).Unix(), "nbf": time.Now().Add(30 * time.Second).Unix()}
	tok := sign(t, gojwt.SigningMethodHS256, []byte(secret), claims, nil)
	if r := serve(t, mustMW(t, `{"secret":"`+secret+`","leeway":60}`), bearer(tok)...); r.status != 200 {
		t.Fatalf("within leeway: %d %v", r.status, r.body)
	}
	if r := serve(t, mustMW(t, `{"secret":"`+secret+`","leeway_seconds":10}`), bearer(tok)...); r.status != 401 {
		t.Fatalf("beyond leeway: %d", r.status)
	}
	noExp := sign(t, gojwt.SigningMethodHS256, []byte(secret), gojwt.MapClaims{"sub": "u"}, nil)
	if r := serve(t, mustMW(t, `{"secret":"`+secret+`","require_exp":false}`), bearer(noExp)...); r.status != 200 {
		t.Fatalf("require_exp false: %d %v", r.status, r.body)
	}
}

func TestRequiredClaims(t *testing.T) {
	mw := mustMW(t, `{"secret":"`+secret+`","required_claims":["role","permissions"]}`)
	tok := sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil)
	r := serve(t, mw, bearer(tok)...)
	expectProblem(t, r, 403, "Forbidden", "Required claims 'role' and 'permissions' missing from JWT")
	if !strings.Contains(r.challenge, `error="insufficient_scope"`) {
		t.Errorf("challenge %q", r.challenge)
	}
	c := baseClaims()
	c["role"] = "admin"
	expectProblem(t, serve(t, mw, bearer(sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil))...),
		403, "Forbidden", "Required claim 'permissions' missing from JWT")
	c["permissions"] = []string{"read"}
	if r := serve(t, mw, bearer(sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil))...); r.status != 200 {
		t.Fatalf("all claims: %d %v", r.status, r.body)
	}
}

// TestKeyConfusion: an HS256 token whose HMAC key is the RSA public key
// (PEM or DER) must fail when RS256 is configured, and also when HS256 is
// allowed next to RS256 (the HMAC key is only ever the configured secret).
func TestKeyConfusion(t *testing.T) {
	pubPEM := pemPublic(t, &rsaKey.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	cfgRS, _ := json.Marshal(map[string]any{"algorithm": "RS256", "public_key": pubPEM})
	mw := mustMW(t, string(cfgRS))
	for _, k := range [][]byte{[]byte(pubPEM), der, x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)} {
		forged := sign(t, gojwt.SigningMethodHS256, k, baseClaims(), nil)
		expectProblem(t, serve(t, mw, bearer(forged)...), 401, "JWT validation failed", "Token algorithm is invalid, expected 'RS256'")
	}
	good := sign(t, gojwt.SigningMethodRS256, rsaKey, baseClaims(), nil)
	if r := serve(t, mw, bearer(good)...); r.status != 200 {
		t.Fatalf("RS256: %d %v", r.status, r.body)
	}

	cfgBoth, _ := json.Marshal(map[string]any{"algorithms": []string{"RS256", "HS256"}, "public_key": pubPEM, "secret": secret})
	mw = mustMW(t, string(cfgBoth))
	forged := sign(t, gojwt.SigningMethodHS256, []byte(pubPEM), baseClaims(), nil)
	expectProblem(t, serve(t, mw, bearer(forged)...), 401, "JWT validation failed", "Token signature is invalid")
	for _, ok := range []string{good, sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil)} {
		if r := serve(t, mw, bearer(ok)...); r.status != 200 {
			t.Fatalf("both: %d %v", r.status, r.body)
		}
	}
}

func TestAsymmetricAlgorithms(t *testing.T) {
	cases := []struct {
		alg  string
		m    gojwt.SigningMethod
		priv any
		pub  any
	}{
		{"RS256", gojwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey},
		{"RS384", gojwt.SigningMethodRS384, rsaKey, &rsaKey.PublicKey},
		{"RS512", gojwt.SigningMethodRS512, rsaKey, &rsaKey.PublicKey},
		{"PS256", gojwt.SigningMethodPS256, rsaKey, &rsaKey.PublicKey},
		{"ES256", gojwt.SigningMethodES256, ecKey, &ecKey.PublicKey},
		{"ES384", gojwt.SigningMethodES384, ec384Key, &ec384Key.PublicKey},
		{"EdDSA", gojwt.SigningMethodEdDSA, edKey, edPub},
	}
	for _, c := range cases {
		t.Run(c.alg, func(t *testing.T) {
			cfg, _ := json.Marshal(map[string]any{"algorithm": c.alg, "public_key": pemPublic(t, c.pub)})
			mw := mustMW(t, string(cfg))
			tok := sign(t, c.m, c.priv, baseClaims(), nil)
			if r := serve(t, mw, bearer(tok)...); r.status != 200 || r.claims["sub"] != "user123" {
				t.Fatalf("valid: %d %v", r.status, r.body)
			}
			// Same algorithm, another key.
			var other any
			switch c.priv.(type) {
			case *rsa.PrivateKey:
				other = mustRSA()
			case *ecdsa.PrivateKey:
				other = mustEC(c.priv.(*ecdsa.PrivateKey).Curve)
			default:
				_, other, _ = ed25519.GenerateKey(rand.Reader)
			}
			expectProblem(t, serve(t, mw, bearer(sign(t, c.m, other, baseClaims(), nil))...), 401,
				"JWT validation failed", "Token signature is invalid")
			// Derived algorithm when none is configured.
			cfg, _ = json.Marshal(map[string]any{"public_key": pemPublic(t, c.pub)})
			if _, err := New(cfg); err != nil {
				t.Fatalf("derived algorithm: %v", err)
			}
		})
	}
}

func jwkRSA(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func TestJWKSFileKidSelection(t *testing.T) {
	k1, k2 := rsaKey, mustRSA()
	set := map[string]any{"keys": []any{
		jwkRSA("k1", &k1.PublicKey),
		jwkRSA("k2", &k2.PublicKey),
		map[string]any{"kty": "EC", "kid": "e1", "crv": "P-256",
			"x": base64.RawURLEncoding.EncodeToString(ecKey.PublicKey.X.FillBytes(make([]byte, 32))),
			"y": base64.RawURLEncoding.EncodeToString(ecKey.PublicKey.Y.FillBytes(make([]byte, 32)))},
		map[string]any{"kty": "OKP", "kid": "d1", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub)},
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}}
	b, _ := json.Marshal(set)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mw := mustMW(t, `{"algorithms":["RS256","ES256","EdDSA"],"jwks_file":"`+path+`"}`)
	rs := func(key *rsa.PrivateKey, hdr map[string]any) string {
		return sign(t, gojwt.SigningMethodRS256, key, baseClaims(), hdr)
	}
	for name, tok := range map[string]string{
		"kid k1":       rs(k1, map[string]any{"kid": "k1"}),
		"kid k2":       rs(k2, map[string]any{"kid": "k2"}),
		"no kid":       rs(k2, nil),
		"ES256 kid e1": sign(t, gojwt.SigningMethodES256, ecKey, baseClaims(), map[string]any{"kid": "e1"}),
		"EdDSA kid d1": sign(t, gojwt.SigningMethodEdDSA, edKey, baseClaims(), map[string]any{"kid": "d1"}),
	} {
		if r := serve(t, mw, bearer(tok)...); r.status != 200 {
			t.Errorf("%s: %d %v", name, r.status, r.body)
		}
	}
	expectProblem(t, serve(t, mw, bearer(rs(k2, map[string]any{"kid": "k1"}))...), 401, "JWT validation failed", "Token signature is invalid")
	expectProblem(t, serve(t, mw, bearer(rs(k1, map[string]any{"kid": "nope"}))...), 401, "JWT validation failed", "Token signing key is unknown")
	// A kid naming a key of another type.
	expectProblem(t, serve(t, mw, bearer(rs(k1, map[string]any{"kid": "e1"}))...), 401, "JWT validation failed", "Token signing key is unknown")
	// RS384 is not pinned even though an RSA key exists.
	expectProblem(t, serve(t, mw, bearer(sign(t, gojwt.SigningMethodRS384, k1, baseClaims(), map[string]any{"kid": "k1"}))...),
		401, "JWT validation failed", "Token algorithm is invalid, expected one of 'RS256', 'ES256', 'EdDSA'")
	// An HMAC token keyed with the JWKS bytes gets nowhere.
	expectProblem(t, serve(t, mw, bearer(sign(t, gojwt.SigningMethodHS256, b, baseClaims(), map[string]any{"kid": "k1"}))...),
		401, "JWT validation failed", "Token algorithm is invalid, expected one of 'RS256', 'ES256', 'EdDSA'")

	// Inline JWKS with an oct key.
	oct, _ := json.Marshal(map[string]any{"algorithm": "HS256", "jwks": map[string]any{"keys": []any{
		map[string]any{"kty": "oct", "kid": "h1", "k": base64.RawURLEncoding.EncodeToString([]byte(secret))}}}})
	if r := serve(t, mustMW(t, string(oct)), bearer(sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), map[string]any{"kid": "h1"}))...); r.status != 200 {
		t.Fatalf("oct: %d %v", r.status, r.body)
	}
}

func TestConfigErrors(t *testing.T) {
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	rsPub := pemPublic(t, &rsaKey.PublicKey)
	js := func(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
	bad := []string{
		`null`, `[]`, `"x"`,
		`{}`, // no key
		`{"secret":""}`,
		`{"secret":"s","algorithm":"none"}`,
		`{"secret":"s","algorithm":"HS257"}`,
		`{"secret":"s","algorithm":"RS256"}`, // no RSA key
		js(map[string]any{"algorithm": "HS256", "public_key": rsPub}), // HMAC needs the secret
		js(map[string]any{"algorithm": "ES256", "public_key": rsPub}),
		js(map[string]any{"public_key": privPEM}),
		js(map[string]any{"public_key": "not a pem"}),
		`{"secret":"s","audiance":"x"}`, // typo
		`{"secret":"s","leeway":-1}`,
		`{"secret":"s","issuer":""}`,
		`{"secret":"s","audience":[1]}`,
		`{"jwks_file":"/nonexistent/jwks.json"}`,
		`{"jwks":{"keys":[{"kty":"RSA","n":"***","e":"AQAB"}]}}`,
		`{"jwks":{"keys":[]}}`,
	}
	for _, c := range bad {
		if mw, err := New(json.RawMessage(c)); err == nil {
			t.Errorf("config %s: accepted (mw %v)", c, mw != nil)
		}
	}
	if mw, err := New(json.RawMessage(`{"enabled":false,"secret":"s"}`)); err != nil || mw != nil {
		t.Errorf("disabled: mw %v err %v", mw != nil, err)
	}
}
