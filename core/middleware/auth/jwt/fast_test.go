package jwt

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

const hsHeader = `{"alg":"HS256","typ":"JWT"}`

// rawToken signs an arbitrary header and payload text with HS256.
func rawToken(header, payload string) string {
	s := b64(header) + "." + b64(payload)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func primed(t *testing.T, cfg string, m gojwt.SigningMethod, key any) *verifier {
	t.Helper()
	v, err := build(json.RawMessage(cfg))
	if err != nil || v == nil {
		t.Fatal(err)
	}
	tok := sign(t, m, key, baseClaims(), nil)
	if _, f := v.authenticate([]byte("Bearer " + tok)); f != nil {
		t.Fatalf("primer refused: %s", f.Detail)
	}
	if _, ok := v.fast([]byte(tok)); !ok {
		t.Fatal("the primer's header was not remembered")
	}
	return v
}

type outcome struct {
	claims map[string]any
	status int
	detail string
}

func authOutcome(v *verifier, tok string) outcome {
	c, f := v.authenticate([]byte("Bearer " + tok))
	if f != nil {
		return outcome{status: f.Status, detail: f.Detail}
	}
	return outcome{claims: c, status: 200}
}

// TestFastPathAgreesWithParser sends the same tokens to a verifier that
// knows their header (fast path) and to a fresh one (golang-jwt's parser
// only): same claims, same failures.
func TestFastPathAgreesWithParser(t *testing.T) {
	exp := fmt.Sprint(future())
	payloads := []string{
		`{"sub":"u1","exp":` + exp + `}`,
		` { "sub" : "u1" , "exp" : ` + exp + ` , "iat":1700000000 } `,
		"{\n\t\"exp\":" + exp + ",\r\n\"a\":[]}",
		`{"exp":` + exp + `,"nested":{"a":[1,2.5,-3e2,{"b":null}],"c":{}},"t":true,"f":false,"n":null}`,
		`{"exp":` + exp + `,"name":"Zoë 日本","emoji":"😀"}`,
		`{"exp":` + exp + `,"esc":"a\"b"}`,
		`{"exp":` + exp + `,"esc":"\u00e9"}`,
		`{"exp":` + exp + `,"n":-0,"m":0.000001,"e":1E+2,"f":12345678901234567890}`,
		`{"exp":` + exp + `,"big":1e400}`,
		`{"exp":1,"exp":` + exp + `}`,
		`{"exp":` + exp + `,"exp":1}`,
		`{"exp":` + exp + `} x`,
		`{"exp":` + exp + `}}`,
		`{"exp":` + exp + `,}`,
		`{"exp":` + exp + `,"a":[1,]}`,
		`{"exp":` + exp + `,"a":01}`,
		`{"exp":` + exp + `,"a":1.}`,
		`{"exp":` + exp + `,"a":.5}`,
		`{"exp":` + exp + `,"a":tru}`,
		`{"exp":` + exp + `,"a":"` + "\x01" + `"}`,
		`{"exp":` + exp + `,"a":"` + "\xff\xfe" + `"}`,
		`{"exp":` + exp + `,"a":"` + "\xed\xa0\x80" + `"}`,
		`{"exp":` + exp + `,"d":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
		`{"exp":` + exp + `,"d":` + strings.Repeat(`{"x":`, 15) + "1" + strings.Repeat("}", 15) + `}`,
		`null`, `[]`, `{}`, `"x"`, ``, `{`,
		`{"exp":"soon"}`, `{"exp":0}`, `{"exp":1}`, `{"exp":` + exp + `.75}`, `{"exp":-62135596800}`, `{"sub":"no exp"}`,
		`{"exp":` + exp + `,"nbf":99999999999}`, `{"exp":` + exp + `,"nbf":"x"}`,
		`{"exp":` + exp + `,"iss":"https://auth.example.com","aud":"https://api.example.com"}`,
		`{"exp":` + exp + `,"iss":"https://other","aud":"https://api.example.com"}`,
		`{"exp":` + exp + `,"iss":"https://auth.example.com","aud":["x","https://api.example.com"]}`,
		`{"exp":` + exp + `,"iss":"https://auth.example.com","aud":["https://api.example.com",1]}`,
		`{"exp":` + exp + `,"iss":"https://auth.example.com","aud":[]}`,
		`{"exp":` + exp + `,"iss":1,"aud":"https://api.example.com"}`,
	}
	cfgs := []string{
		hsCfg,
		`{"algorithm":"HS256","secret":"` + secret + `","require_exp":false,"leeway":30}`,
		`{"algorithm":"HS256","secret":"` + secret + `","issuer":"https://auth.example.com","audience":"https://api.example.com","required_claims":["sub"]}`,
	}
	for _, cfg := range cfgs {
		fast := primed(t, cfg, gojwt.SigningMethodHS256, []byte(secret))
		for _, p := range payloads {
			for _, tok := range []string{rawToken(hsHeader, p), rawToken(hsHeader, p) + "x", rawToken(hsHeader, p)[:len(rawToken(hsHeader, p))-2]} {
				fresh, err := build(json.RawMessage(cfg))
				if err != nil {
					t.Fatal(err)
				}
				want, got := authOutcome(fresh, tok), authOutcome(fast, tok)
				if !reflect.DeepEqual(want, got) {
					t.Errorf("payload %q: parser %+v, fast path %+v", p, want, got)
				}
			}
		}
	}
}

// TestFastPathFamilies: every key family is remembered and verified on
// the fast path, and a forged signature still falls to the parser's 401.
func TestFastPathFamilies(t *testing.T) {
	cases := []struct {
		cfg  string
		m    gojwt.SigningMethod
		key  any
		name string
	}{
		{hsCfg, gojwt.SigningMethodHS256, []byte(secret), "HS256"},
		{`{"algorithm":"HS512","secret":"` + secret + `"}`, gojwt.SigningMethodHS512, []byte(secret), "HS512"},
		{`{"algorithm":"RS256","public_key":` + jsonString(pemPublic(t, &rsaKey.PublicKey)) + `}`, gojwt.SigningMethodRS256, rsaKey, "RS256"},
		{`{"algorithm":"ES256","public_key":` + jsonString(pemPublic(t, &ecKey.PublicKey)) + `}`, gojwt.SigningMethodES256, ecKey, "ES256"},
		{`{"algorithm":"EdDSA","public_key":` + jsonString(pemPublic(t, edPub)) + `}`, gojwt.SigningMethodEdDSA, edKey, "EdDSA"},
	}
	for _, c := range cases {
		v := primed(t, c.cfg, c.m, c.key)
		claims := baseClaims()
		claims["role"] = "admin"
		tok := sign(t, c.m, c.key, claims, nil)
		got, ok := v.fast([]byte(tok))
		if !ok || got["role"] != "admin" || got["sub"] != "user123" {
			t.Errorf("%s: fast path %v %v", c.name, ok, got)
		}
		parts := strings.Split(tok, ".")
		forged := parts[0] + "." + b64(`{"sub":"root","exp":`+fmt.Sprint(future())+`}`) + "." + parts[2]
		if _, ok := v.fast([]byte(forged)); ok {
			t.Errorf("%s: forged token accepted by the fast path", c.name)
		}
		if o := authOutcome(v, forged); o.status != 401 || o.detail != "Token signature is invalid" {
			t.Errorf("%s: forged token: %+v", c.name, o)
		}
	}
}

// TestHeaderCacheOnlyRemembersVerifiedHeaders: refused tokens add nothing,
// and the cache stops growing at maxHeaders.
func TestHeaderCacheOnlyRemembersVerifiedHeaders(t *testing.T) {
	v, err := build(json.RawMessage(hsCfg))
	if err != nil {
		t.Fatal(err)
	}
	size := func() int {
		if m := v.headers.m.Load(); m != nil {
			return len(*m)
		}
		return 0
	}
	good := rawToken(`{"alg":"HS256","x":1}`, `{"exp":`+fmt.Sprint(future())+`}`)
	parts := strings.Split(good, ".")
	for _, tok := range []string{
		parts[0] + "." + parts[1] + ".AAAA",
		rawToken(`{"alg":"HS256","x":2}`, `{"exp":1}`)[:10] + "." + parts[1] + "." + parts[2],
		rawToken(`{"alg":"none"}`, `{}`),
		rawToken(`{"alg":"HS256","crit":["b64"]}`, `{"exp":`+fmt.Sprint(future())+`}`),
	} {
		if o := authOutcome(v, tok); o.status == 200 {
			t.Fatalf("%s accepted", tok)
		}
	}
	if n := size(); n != 0 {
		t.Fatalf("refused tokens left %d header(s)", n)
	}
	// A token whose header verified but whose claims fail is remembered:
	// the header's outcome does not depend on the claims.
	if o := authOutcome(v, rawToken(`{"alg":"HS256","x":3}`, `{"exp":1}`)); o.status != 401 || size() != 1 {
		t.Fatalf("expired token: %+v, %d header(s)", o, size())
	}
	for i := range maxHeaders + 10 {
		tok := rawToken(fmt.Sprintf(`{"alg":"HS256","n":%d}`, i), `{"exp":`+fmt.Sprint(future())+`}`)
		if o := authOutcome(v, tok); o.status != 200 {
			t.Fatalf("token %d: %+v", i, o)
		}
		if o := authOutcome(v, tok); o.status != 200 {
			t.Fatalf("token %d again: %+v", i, o)
		}
	}
	if n := size(); n != maxHeaders {
		t.Fatalf("%d headers remembered, want the cap %d", n, maxHeaders)
	}
}

// TestFastPathConcurrent shares one verifier (header cache, HMAC pool)
// between goroutines (run with -race).
func TestFastPathConcurrent(t *testing.T) {
	v := primed(t, hsCfg, gojwt.SigningMethodHS256, []byte(secret))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c := baseClaims()
				c["n"] = float64(g*1000 + i%20) // repeated tokens: the token cache too
				tok := rawToken(fmt.Sprintf(`{"alg":"HS256","g":%d}`, g%3), mustJSON(c))
				o := authOutcome(v, tok)
				if o.status != 200 || o.claims["n"] != float64(g*1000+i%20) {
					t.Errorf("goroutine %d: %+v", g, o)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestFastPathAllocations guards the point of the fast path and of the
// token cache.
func TestFastPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled HMACs at random")
	}
	v := primed(t, hsCfg, gojwt.SigningMethodHS256, []byte(secret))
	tok := []byte(sign(t, gojwt.SigningMethodHS256, []byte(secret), baseClaims(), nil))
	// First sight: payload copy, map, the claims' boxed values (sub, iss,
	// aud list and its element, exp, iat).
	n := testing.AllocsPerRun(200, func() {
		if _, ok := v.fast(tok); !ok {
			t.Fatal("fast path refused a valid token")
		}
	})
	if n > 10 {
		t.Errorf("%.0f allocations per first-sight token, want ≤ 10", n)
	}
	// Seen before: the request's copy of the claims (map, aud list).
	h := append([]byte("Bearer "), tok...)
	n = testing.AllocsPerRun(200, func() {
		if _, f := v.authenticate(h); f != nil {
			t.Fatal(f.Detail)
		}
	})
	if n > 4 {
		t.Errorf("%.0f allocations per known token, want ≤ 4", n)
	}
}

// TestTokenCache: a token is remembered once it passed every check, its
// time checks still run on every request, and each request gets claims of
// its own.
func TestTokenCache(t *testing.T) {
	v, err := build(json.RawMessage(`{"algorithm":"HS256","secret":"` + secret + `","audience":"https://api.example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	c := baseClaims()
	c["exp"] = float64(time.Now().Add(time.Minute).Unix())
	c["scopes"] = []any{"read", map[string]any{"write": true}}
	tok := sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil)

	first := authOutcome(v, tok)
	if first.status != 200 || v.tokens.get([]byte(tok)) == nil {
		t.Fatalf("valid token: %+v, remembered %v", first, v.tokens.get([]byte(tok)) != nil)
	}
	// A handler scribbling on its claims changes nothing for the next request.
	first.claims["sub"] = "root"
	first.claims["scopes"].([]any)[0] = "admin"
	first.claims["scopes"].([]any)[1].(map[string]any)["write"] = false
	second := authOutcome(v, tok)
	if second.status != 200 || second.claims["sub"] != "user123" ||
		!reflect.DeepEqual(second.claims["scopes"], []any{"read", map[string]any{"write": true}}) {
		t.Fatalf("second request: %+v", second)
	}
	second.claims["extra"] = 1.0
	if third := authOutcome(v, tok); third.claims["extra"] != nil || third.claims["sub"] != "user123" {
		t.Fatalf("third request sees another request's changes: %+v", third)
	}

	// Expiry is checked against each request's clock: the remembered token
	// expires like any other, and is forgotten.
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if o := authOutcome(v, tok); o.status != 401 || o.detail != "Token has expired" {
		t.Fatalf("expired remembered token: %+v", o)
	}
	if v.tokens.get([]byte(tok)) != nil {
		t.Fatal("expired token still remembered")
	}
	now = time.Now

	// Refused tokens are not remembered.
	parts := strings.Split(tok, ".")
	wrongAud := baseClaims()
	wrongAud["aud"] = "https://elsewhere"
	for _, bad := range []string{
		parts[0] + "." + parts[1] + ".AAAA",
		sign(t, gojwt.SigningMethodHS256, []byte(secret), wrongAud, nil),
		sign(t, gojwt.SigningMethodHS256, []byte(secret), gojwt.MapClaims{"exp": 1.0}, nil),
	} {
		if o := authOutcome(v, bad); o.status != 401 {
			t.Fatalf("%s accepted", bad)
		}
		if v.tokens.get([]byte(bad)) != nil {
			t.Fatalf("refused token remembered: %s", bad)
		}
	}

	// The cache is bounded.
	for i := range 3000 {
		c := baseClaims()
		c["n"] = float64(i)
		if o := authOutcome(v, sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil)); o.status != 200 {
			t.Fatalf("token %d: %+v", i, o)
		}
	}
	total := 0
	for i := range v.tokens.shards {
		if m := v.tokens.shards[i].m.Load(); m != nil {
			total += len(*m)
		}
	}
	if total > tokenShards*tokensPerShard {
		t.Fatalf("%d tokens remembered, cap %d", total, tokenShards*tokensPerShard)
	}
}

// TestTokenCacheAgreesAcrossTime: a remembered token is refused or let
// through at any clock exactly as a verifier that never saw it decides.
func TestTokenCacheAgreesAcrossTime(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	base := time.Now()
	cfg := `{"algorithm":"HS256","secret":"` + secret + `","leeway":5}`
	var toks []string
	for _, c := range []gojwt.MapClaims{
		{"exp": float64(base.Add(time.Hour).Unix())},
		{"exp": float64(base.Add(time.Hour).Unix()), "nbf": float64(base.Add(-time.Minute).Unix())},
		{"exp": float64(base.Add(time.Minute).Unix()) + 0.5, "nbf": float64(base.Unix())},
		{"exp": float64(base.Add(time.Hour).Unix()), "nbf": json.Number(fmt.Sprint(base.Unix()))},
	} {
		toks = append(toks, sign(t, gojwt.SigningMethodHS256, []byte(secret), c, nil))
	}
	for _, tok := range toks {
		cached, _ := build(json.RawMessage(cfg))
		now = func() time.Time { return base }
		if o := authOutcome(cached, tok); o.status != 200 || cached.tokens.get([]byte(tok)) == nil {
			t.Fatalf("%s: %+v", tok, o)
		}
		for _, d := range []time.Duration{-2 * time.Hour, -time.Minute - 6*time.Second, -time.Minute, -4 * time.Second,
			-6 * time.Second, 0, time.Minute, time.Minute + 5*time.Second, time.Minute + 6*time.Second, 2 * time.Hour, 0} {
			now = func() time.Time { return base.Add(d) }
			fresh, _ := build(json.RawMessage(cfg))
			want, got := authOutcome(fresh, tok), authOutcome(cached, tok)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s at %v: fresh %+v, remembered %+v", tok, d, want, got)
			}
		}
	}
}

// FuzzClaims: whatever parseClaims accepts, encoding/json (golang-jwt's
// decoder) accepts too and decodes to the same claims.
func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`{"sub":"a","exp":1700000000,"aud":["x","y"],"n":{"a":[1,2.5e3,null,true]}}`,
		` {"a" : -0.5E-3 } `, `{}`, `{"a":"é"}`, `{"a":1,"a":"b"}`, `{"a":[[],{}]}`, `{"a":"\u0041"}`,
		`{"a":1e999}`, `{"a":01}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := parseClaims(append([]byte(nil), b...))
		if !ok {
			return
		}
		want := gojwt.MapClaims{}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%q: parseClaims accepts what encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(map[string]any(want), got) {
			t.Fatalf("%q: encoding/json %#v, parseClaims %#v", b, want, got)
		}
	})
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestClaimReadersMatchGoJWT: checkClaims reads exp, nbf and aud without
// golang-jwt's getters (which allocate); it must read them the same way.
func TestClaimReadersMatchGoJWT(t *testing.T) {
	values := []any{nil, 0.0, 1.0, -1.0, 1.5, 1700000000.0, 1700000000.999, -62135596800.0, -62135596799.5, 1e18,
		json.Number("1700000000"), json.Number("1.5"), json.Number("x"), "1700000000", true, []any{1.0}, map[string]any{}}
	for _, val := range values {
		for _, present := range []bool{true, false} {
			c := gojwt.MapClaims{}
			if present {
				c["exp"] = val
			}
			want, werr := c.GetExpirationTime()
			got, set, ok := numericDate(c, "exp")
			if ok != (werr == nil) || set != (want != nil) || (want != nil && !want.Time.Equal(got)) {
				t.Errorf("exp %#v (present %v): golang-jwt %v %v, numericDate %v set=%v ok=%v", val, present, want, werr, got, set, ok)
			}
		}
	}
	want := []string{"a", "b"}
	for _, aud := range []any{nil, "a", "c", "", []any{}, []any{"c", "b"}, []any{"a", 1.0}, []any{1.0, "a"}, []string{"x", "a"}, []string{}, 1.0, map[string]any{"a": 1}} {
		cs, err := gojwt.MapClaims{"aud": aud}.GetAudience()
		match := false
		for _, a := range cs {
			match = match || slices.Contains(want, a)
		}
		if exp := err == nil && match; audienceOK(aud, want) != exp {
			t.Errorf("aud %#v: golang-jwt says %v", aud, exp)
		}
	}
}
