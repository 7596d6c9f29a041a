package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/stream"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2App serves the same routes over HTTP/1.1, h2c and TLS (h1 and h2).
func h2App(t testing.TB, withTLS bool) (addr string, certPEM []byte, stopped chan error) {
	t.Helper()
	on := true
	srv := config.Server{HTTP2: &on, MaxBodyBytes: 1 << 16}
	if withTLS {
		var certFile, keyFile string
		certFile, keyFile, certPEM = selfSigned(t)
		srv.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile}
	}
	stopped = make(chan error, 1)
	a := liveApp(srv)
	a.Route(config.Route{Method: "GET", Path: "/hello/{name}"}, func(c *app.Ctx) error {
		c.SetHeader("X-Proto", "same pipeline")
		return c.JSON(200, map[string]any{"hello": c.Path("name").String(), "tls": c.Fast().IsTLS()})
	})
	a.Route(config.Route{Method: "POST", Path: "/echo", BodySchema: []byte(`{"type":"object","required":["a"]}`)},
		func(c *app.Ctx) error { return c.Send(200, "application/json", c.Values()) })
	a.Route(config.Route{Method: "GET", Path: "/stream"}, func(c *app.Ctx) error {
		return c.StreamContext(200, "text/plain", func(ctx context.Context, w *bufio.Writer) error {
			for i := 0; ; i++ {
				fmt.Fprintf(w, "line %d\n", i)
				if err := w.Flush(); err != nil {
					stopped <- err
					return err
				}
				if i == 2 && c == nil {
					return nil
				}
				select {
				case <-ctx.Done():
					stopped <- context.Cause(ctx)
					return nil
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/sized"}, func(c *app.Ctx) error {
		c.Fast().Response.Header.SetContentType("text/plain")
		c.Fast().Response.SetBodyStream(strings.NewReader("sized body"), len("sized body"))
		return nil
	})
	a.Route(config.Route{Method: "GET", Path: "/events"}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			for i := 0; i < 3; i++ {
				s.SendData(fmt.Sprint(i))
			}
			return nil
		})
	})
	return listen(t, a), certPEM, stopped
}

func h2cClient() *http.Client { return &http.Client{Transport: h2cTransport(nil)} }

// h2cTransport speaks h2c with prior knowledge; dialed, when not nil, is
// told about every connection it opens.
func h2cTransport(dialed func(net.Conn)) *http2.Transport {
	return &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil && dialed != nil {
				dialed(c)
			}
			return c, err
		}}
}

func TestHTTP2PriorKnowledge(t *testing.T) {
	addr, _, stopped := h2App(t, false)
	cl := h2cClient()
	resp, err := cl.Get("http://" + addr + "/hello/ada")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != `{"hello":"ada","tls":false}` ||
		resp.Header.Get("X-Proto") != "same pipeline" || resp.Header.Get("X-Request-Id") == "" ||
		resp.Header.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Fatalf("h2c: %s %d %s\n%s", resp.Proto, resp.StatusCode, body, header(resp))
	}
	// Validation runs as on HTTP/1.1.
	resp, err = cl.Post("http://"+addr+"/echo", "application/json", strings.NewReader(`{"b":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(body), `"missing"`) {
		t.Fatalf("h2c validation: %d %s", resp.StatusCode, body)
	}
	// The body limit.
	resp, err = cl.Post("http://"+addr+"/echo", "application/json", bytes.NewReader(make([]byte, 1<<17)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("h2c over the body limit: %d", resp.StatusCode)
	}
	// HTTP/1.1 on the same port still goes to fasthttp.
	resp, err = http.Get("http://" + addr + "/hello/bob")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 1 || string(body) != `{"hello":"bob","tls":false}` {
		t.Fatalf("h1 next to h2c: %s %s", resp.Proto, body)
	}
	// A stream arrives as it is produced; resetting it stops the producer.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/stream", nil)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		if line, err := br.ReadString('\n'); err != nil || line != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("h2 stream line %d: %q %v", i, line, err)
		}
	}
	cancel()
	resp.Body.Close()
	select {
	case err := <-stopped:
		if !errors.Is(err, stream.ErrGone) && !errors.Is(err, context.Canceled) {
			t.Fatalf("the producer stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("resetting the HTTP/2 stream did not stop the producer")
	}
	// A body stream of known size (a file) keeps its Content-Length; HEAD has no body.
	resp, err = cl.Get("http://" + addr + "/sized")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "sized body" || resp.ContentLength != int64(len("sized body")) {
		t.Fatalf("sized stream over h2: %q %d", body, resp.ContentLength)
	}
	req, _ = http.NewRequest("HEAD", "http://"+addr+"/hello/head", nil)
	resp, err = cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != fmt.Sprint(len(`{"hello":"head","tls":false}`)) {
		t.Fatalf("HEAD over h2: %d %q\n%s", resp.StatusCode, body, header(resp))
	}
	resp, err = cl.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "data: 0\n\ndata: 1\n\ndata: 2\n\n" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("SSE over h2: %q\n%s", body, header(resp))
	}
}

// The HTTP/1.1 Upgrade to h2c (RFC 7540 3.2): the request is answered as
// stream 1 of the new connection.
func TestHTTP2Upgrade(t *testing.T) {
	addr, _, _ := h2App(t, false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var settings bytes.Buffer
	fr := http2.NewFramer(&settings, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	payload := settings.Bytes()[9:]
	fmt.Fprintf(c, "GET /hello/up HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: %s\r\n\r\n",
		addr, base64.RawURLEncoding.EncodeToString(payload))
	br := bufio.NewReader(c)
	status, _ := br.ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		t.Fatalf("upgrade answer: %q", status)
	}
	for {
		l, _ := br.ReadString('\n')
		if l == "\r\n" || l == "" {
			break
		}
	}
	io.WriteString(c, http2.ClientPreface)
	framer := http2.NewFramer(c, br)
	framer.WriteSettings()
	var gotStatus, gotBody string
	dec := hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			gotStatus = f.Value
		}
	})
	for gotBody == "" || gotStatus == "" {
		f, err := framer.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v (status %q body %q)", err, gotStatus, gotBody)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				framer.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			if f.StreamID != 1 {
				t.Fatalf("headers on stream %d", f.StreamID)
			}
			dec.Write(f.HeaderBlockFragment())
		case *http2.DataFrame:
			gotBody += string(f.Data())
		}
	}
	if gotStatus != "200" || gotBody != `{"hello":"up","tls":false}` {
		t.Fatalf("upgraded request: %s %s", gotStatus, gotBody)
	}
}

func TestHTTP2TLS(t *testing.T) {
	addr, certPEM, _ := h2App(t, true)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	// ALPN h2.
	h2c := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := h2c.Get("https://" + addr + "/hello/tls")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != `{"hello":"tls","tls":true}` {
		t.Fatalf("TLS h2: %s %s", resp.Proto, body)
	}
	// ALPN http/1.1 goes to fasthttp, decrypted.
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
		ForceAttemptHTTP2: false, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	resp, err = h1.Get("https://" + addr + "/hello/tls1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 1 || string(body) != `{"hello":"tls1","tls":true}` {
		t.Fatalf("TLS h1: %s %s", resp.Proto, body)
	}
	// Plain HTTP/1.1 on the same port.
	resp, err = http.Get("http://" + addr + "/hello/plain")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"hello":"plain","tls":false}` {
		t.Fatalf("plain next to TLS: %s", body)
	}
}

// h2spec (github.com/summerwind/h2spec) against the h2c and the TLS
// listener: every case passes (h2spec v2.2.1, pinned in go.mod as a tool;
// see h2specBinary). core/h2's frameReader
// and sniffer are what make x/net/http2 pass the cases it fails alone
// (repeated SETTINGS values, connection-specific header fields, the
// invalid preface on a port shared with HTTP/1.1).
func TestH2Spec(t *testing.T) {
	if testing.Short() {
		t.Skip("h2spec runs for a few seconds")
	}
	bin := h2specBinary(t)
	for _, mode := range []struct {
		name string
		tls  bool
		args []string
	}{{"h2c", false, nil}, {"tls", true, []string{"-t", "-k"}}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			addr, _, _ := h2App(t, mode.tls)
			host, port, _ := net.SplitHostPort(addr)
			args := append([]string{"-h", host, "-p", port, "-o", "5"}, mode.args...)
			out, _ := exec.Command(bin, args...).CombinedOutput()
			m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("h2spec output:\n%s", out)
			}
			t.Logf("h2spec %s: %s", mode.name, m[0])
			var total, pass int
			fmt.Sscan(m[1], &total)
			fmt.Sscan(m[2], &pass)
			if pass != total || total < 145 {
				t.Fatalf("h2spec %s: %s; want every case passed:\n%s", mode.name, m[0], failures(out))
			}
		})
	}
}

// failures is the part of h2spec's report that lists the failed cases.
func failures(out []byte) []byte {
	if i := bytes.Index(out, []byte("Failures:")); i >= 0 {
		return out[i:]
	}
	return out
}

// h2specBinary is $H2SPEC, or h2spec built from the version go.mod pins
// as a tool (go tool h2spec): from the module cache, or fetched through
// the Go module proxy the first time. The test skips only when that build
// fails (offline with an empty cache).
func h2specBinary(t *testing.T) string {
	if b := os.Getenv("H2SPEC"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "h2spec")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/summerwind/h2spec/cmd/h2spec")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("h2spec cannot be built (%v): %s", err, out)
	}
	return bin
}

func selfSigned(t testing.TB) (certFile, keyFile string, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile, certPEM
}
