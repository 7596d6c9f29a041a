package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// supportedAlgs are the algorithms the middleware can be pinned to. "none"
// is never among them.
var supportedAlgs = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// keyEntry is one verification key with the restrictions its source puts
// on it (a JWK's kid and alg).
type keyEntry struct {
	kid string
	alg string
	key any
}

// compatible reports whether key can verify alg: HMAC algorithms only take
// the configured secret, asymmetric ones only a public key of their own
// family (and curve), so no key is ever used across families.
func compatible(alg string, key any) bool {
	switch alg {
	case "HS256", "HS384", "HS512":
		_, ok := key.([]byte)
		return ok
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ES256", "ES384", "ES512":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		want := map[string]int{"ES256": 256, "ES384": 384, "ES512": 521}[alg]
		return k.Curve.Params().BitSize == want
	case "EdDSA":
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}

// keySet answers the parser's key lookups. Everything is computed when the
// middleware is built: the lookup itself does not allocate.
type keySet struct {
	// any[alg] verifies a token that names no key (or when no configured key
	// has a kid): one key, or a gojwt.VerificationKeySet of every candidate.
	any map[string]any
	// byKid[alg][kid] verifies a token that names a key.
	byKid map[string]map[string]any
	// unnamed[alg] holds the keys configured without a kid (secret,
	// public_key), tried when the token names an unknown kid.
	unnamed map[string]any
	hasKids bool
}

func pack(keys []any) any {
	switch len(keys) {
	case 0:
		return nil
	case 1:
		return keys[0]
	}
	vs := make([]gojwt.VerificationKey, len(keys))
	for i, k := range keys {
		vs[i] = k
	}
	return gojwt.VerificationKeySet{Keys: vs}
}

func newKeySet(algs []string, entries []keyEntry) (*keySet, error) {
	ks := &keySet{any: map[string]any{}, byKid: map[string]map[string]any{}, unnamed: map[string]any{}}
	for _, e := range entries {
		if e.kid != "" {
			ks.hasKids = true
		}
	}
	for _, alg := range algs {
		var all, unnamed []any
		kids := map[string][]any{}
		for _, e := range entries {
			if (e.alg != "" && e.alg != alg) || !compatible(alg, e.key) {
				continue
			}
			all = append(all, e.key)
			if e.kid == "" {
				unnamed = append(unnamed, e.key)
			} else {
				kids[e.kid] = append(kids[e.kid], e.key)
			}
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("algorithm %s is allowed but no configured key can verify it", alg)
		}
		ks.any[alg] = pack(all)
		if u := pack(unnamed); u != nil {
			ks.unnamed[alg] = u
		}
		m := map[string]any{}
		for kid, k := range kids {
			m[kid] = pack(k)
		}
		ks.byKid[alg] = m
	}
	return ks, nil
}

// keyError is a key lookup failure; its text is the problem detail.
type keyError string

func (e keyError) Error() string { return string(e) }

const (
	errUnknownKey  = keyError("Token signing key is unknown")
	errCritical    = keyError("Token validation failed: unsupported critical header parameters")
	errNoKeyForAlg = keyError("Token signature is invalid")
)

func (ks *keySet) lookup(t *gojwt.Token) (any, error) {
	if _, crit := t.Header["crit"]; crit {
		// RFC 7515 4.1.11: extensions listed in crit must be understood;
		// this verifier understands none.
		return nil, errCritical
	}
	alg := t.Method.Alg()
	if ks.hasKids {
		if kid, ok := t.Header["kid"].(string); ok {
			if k, ok := ks.byKid[alg][kid]; ok {
				return k, nil
			}
			if k, ok := ks.unnamed[alg]; ok {
				return k, nil
			}
			return nil, errUnknownKey
		}
	}
	if k, ok := ks.any[alg]; ok {
		return k, nil
	}
	return nil, errNoKeyForAlg
}

// parsePEMKeys reads every public key of a PEM document: PKIX "PUBLIC
// KEY", PKCS#1 "RSA PUBLIC KEY" and "CERTIFICATE" blocks.
func parsePEMKeys(data []byte) ([]any, error) {
	var keys []any
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			if strings.Contains(block.Type, "PRIVATE") {
				return nil, fmt.Errorf("PEM block %q is a private key: configure the public key only", block.Type)
			}
			return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		switch k.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("PEM block %q: unsupported public key type %T", block.Type, k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return keys, nil
}

// jwk is the part of an RFC 7517 JSON Web Key the verifier reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	K   string `json:"k"`
}

// parseJWKS reads a JWK Set ({"keys": [...]}) or a single JWK. Keys whose
// "use" is not "sig" are skipped; a key's "alg", when present, restricts
// it to that algorithm.
func parseJWKS(data []byte) ([]keyEntry, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	raws := set.Keys
	if raws == nil {
		raws = []json.RawMessage{data}
	}
	var out []keyEntry
	for i, raw := range raws {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i, err)
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Alg != "" && !supportedAlgs[k.Alg] {
			return nil, fmt.Errorf("JWKS key %d (kid %q): unsupported alg %q", i, k.Kid, k.Alg)
		}
		key, err := k.publicKey()
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		out = append(out, keyEntry{kid: k.Kid, alg: k.Alg, key: key})
	}
	if len(out) == 0 {
		return nil, errors.New("JWKS holds no signature key")
	}
	return out, nil
}

func jwkB64(field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("member %q is not base64url", field)
	}
	return b, nil
}

func (k jwk) publicKey() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err := jwkB64("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := jwkB64("e", k.E)
		if err != nil {
			return nil, err
		}
		eb := new(big.Int).SetBytes(e)
		if !eb.IsInt64() || eb.Int64() < 3 || eb.Int64() > 1<<31-1 {
			return nil, errors.New("unsupported RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(eb.Int64())}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", k.Crv)
		}
		x, err := jwkB64("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := jwkB64("y", k.Y)
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) > size || len(y) > size {
			return nil, errors.New("EC coordinates too long for the curve")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		copy(point[1+size-len(x):1+size], x)
		copy(point[1+2*size-len(y):], y)
		pk, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return pk, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", k.Crv)
		}
		x, err := jwkB64("x", k.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("Ed25519 key must be 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	case "oct":
		s, err := jwkB64("k", k.K)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("unsupported kty %q", k.Kty)
}

func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}
