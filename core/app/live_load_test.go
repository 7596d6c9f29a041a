package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/spikard/spikard-go/core/app"
	"github.com/spikard/spikard-go/core/config"
	"github.com/spikard/spikard-go/core/sse"
	"github.com/spikard/spikard-go/core/ws"
)

// The load tests hold 1,000 event streams and 1,000 WebSockets at once
// against a server running in a child process, so that its RSS is the
// server's own; they log RSS, heap and goroutines per connection and
// assert generous bounds only (a few times what is measured, so that they
// cannot be flaky): without the race detector ~30 KiB of RSS per event
// stream and ~22 KiB per WebSocket were measured, with it ~150 KiB.
const loadN = 1000

// needFDs raises the soft limit on open files to what a test holding n
// connections needs (each end of each connection is a descriptor in the
// test process or the child server, which inherits the limit); it skips
// when the hard limit is lower.
func needFDs(t *testing.T, n int) {
	t.Helper()
	want := uint64(n + 256) // the connections, plus the runtime's and the test's own
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		t.Skipf("the open-file limit is %d (hard); %d connections need %d", lim.Max, n, want)
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot raise the open-file limit to %d: %v", want, err)
	}
}

// loadStats is what the child server reports at GET /stats.
type loadStats struct {
	RSSKiB     int64   `json:"rss_kib"`
	HeapMiB    float64 `json:"heap_mib"`
	Goroutines int     `json:"goroutines"`
	Open       int64   `json:"open"`
	Ended      int64   `json:"ended"`
}

// TestLoadServerHelper is the child server (it only runs when
// SPIKARD_LOAD_SERVER is set): it prints its address and serves until its
// stdin closes.
func TestLoadServerHelper(t *testing.T) {
	if os.Getenv("SPIKARD_LOAD_SERVER") == "" {
		t.Skip("the child process of the load tests")
	}
	var open, ended atomic.Int64
	a := liveApp(config.Server{})
	a.Route(config.Route{Method: "GET", Path: "/events", SSE: &config.SSE{KeepAliveMS: 500}}, func(c *app.Ctx) error {
		return c.SSE(func(s *sse.Stream) error {
			open.Add(1)
			defer ended.Add(1)
			if err := s.SendData("hello"); err != nil {
				return err
			}
			<-s.Done()
			return nil
		})
	})
	a.Route(config.Route{Method: "GET", Path: "/ws", WebSocket: &config.WebSocket{PingIntervalMS: -1}},
		a.WebSocketHandler(ws.Handler{
			OnConnect: func(*ws.Conn) error { open.Add(1); return nil },
			OnMessage: func(c *ws.Conn, m ws.Message) error { return c.Send(m.Type, m.Data) },
			OnClose:   func(*ws.Conn, int, string) { ended.Add(1) },
		}))
	a.Route(config.Route{Method: "GET", Path: "/stats"}, func(c *app.Ctx) error {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return c.JSON(200, loadStats{RSSKiB: rssKiB(), HeapMiB: float64(ms.HeapInuse) / (1 << 20),
			Goroutines: runtime.NumGoroutine(), Open: open.Load(), Ended: ended.Load()})
	})
	addr := listen(t, a)
	fmt.Println("addr", addr)
	io.Copy(io.Discard, os.Stdin)
}

// rssKiB is the process's resident set size (Linux), or 0.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

// loadServer starts the child server and returns its address and a stats reader.
func loadServer(t *testing.T) (string, func() loadStats) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadServerHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SPIKARD_LOAD_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	sc := bufio.NewScanner(stdout)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "addr "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("the load server did not start")
	}
	go io.Copy(io.Discard, stdout)
	stats := func() loadStats {
		resp, err := http.Get("http://" + addr + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s loadStats
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return addr, stats
}

// parallel runs fn(i) for i < n with at most width at a time.
func parallel(n, width int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var first atomic.Value
	sem := make(chan struct{}, width)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				first.CompareAndSwap(nil, err)
			}
		}(i)
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func reportLoad(t *testing.T, what string, n int, before, held loadStats) {
	perConn := float64(held.RSSKiB-before.RSSKiB) / float64(n)
	heapPerConn := (held.HeapMiB - before.HeapMiB) * 1024 / float64(n)
	t.Logf("server with %d %s: RSS %d → %d KiB (%.1f KiB per connection), heap in use %.1f → %.1f MiB (%.1f KiB per connection), goroutines %d → %d",
		n, what, before.RSSKiB, held.RSSKiB, perConn, before.HeapMiB, held.HeapMiB, heapPerConn, before.Goroutines, held.Goroutines)
	// Bounded: per connection, buffers and one or two goroutines. The race
	// detector's shadow memory multiplies what a connection costs.
	bound := 128.0
	if raceEnabled {
		bound = 1024
	}
	if held.RSSKiB > 0 && perConn > bound {
		t.Errorf("%.1f KiB of RSS per connection (bound %.0f): more than the buffers and goroutines a connection holds", perConn, bound)
	}
	if heapPerConn > bound {
		t.Errorf("%.1f KiB of heap per connection (bound %.0f)", heapPerConn, bound)
	}
	if g := (held.Goroutines - before.Goroutines) / n; g > 2 {
		t.Errorf("%d goroutines per connection", g)
	}
}

func TestThousandSSEStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	n := loadN
	needFDs(t, 2*n)
	addr, stats := loadServer(t)
	before := stats()
	start := time.Now()
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	err := parallel(n, 64, func(i int) error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		conns[i] = c
		fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), &http.Request{Method: "GET"})
		if err != nil {
			return err
		}
		// The chunked body, line by line: the first event, then comments.
		readers[i] = bufio.NewReaderSize(resp.Body, 256)
		if l, err := readers[i].ReadString('\n'); err != nil || l != "data: hello\n" {
			return fmt.Errorf("stream %d: %q %v", i, l, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d streams connected in %v", n, time.Since(start).Round(time.Millisecond))
	// Every stream is alive and served: a keep-alive comment (every
	// 500 ms) arrives on each.
	if err := parallel(n, 64, func(i int) error {
		ka, err := readers[i].ReadString('\n')
		for err == nil && !strings.HasPrefix(ka, ": ") {
			ka, err = readers[i].ReadString('\n')
		}
		if err != nil {
			return fmt.Errorf("stream %d: no keep-alive: %v", i, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	held := stats()
	if held.Open != int64(n) || held.Ended != 0 {
		t.Fatalf("open %d, ended %d; want %d open", held.Open, held.Ended, n)
	}
	reportLoad(t, "SSE streams", n, before, held)
	for i, c := range conns {
		c.Close()
		conns[i] = nil
	}
	// Every handler is freed.
	waitFor(t, "every stream to notice its client left", 10*time.Second, func() bool { return stats().Ended == int64(n) })
}

func TestThousandWebSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	n := loadN
	needFDs(t, 2*n)
	addr, stats := loadServer(t)
	before := stats()
	start := time.Now()
	conns := make([]*websocket.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	d := websocket.Dialer{ReadBufferSize: 512, WriteBufferSize: 512, HandshakeTimeout: 10 * time.Second}
	echo := func(i int, msg []byte) error {
		c := conns[i]
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			return err
		}
		_, b, err := c.ReadMessage()
		if err != nil || !bytes.Equal(b, msg) {
			return fmt.Errorf("conn %d: %q %v", i, b, err)
		}
		return nil
	}
	err := parallel(n, 64, func(i int) error {
		c, _, err := d.Dial("ws://"+addr+"/ws", nil)
		if err != nil {
			return err
		}
		conns[i] = c
		return echo(i, []byte("hello "+strconv.Itoa(i)))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d connections opened and echoed in %v", n, time.Since(start).Round(time.Millisecond))
	held := stats()
	if held.Open != int64(n) || held.Ended != 0 {
		t.Fatalf("open %d, closed %d; want %d open", held.Open, held.Ended, n)
	}
	reportLoad(t, "WebSockets", n, before, held)
	if err := parallel(n, 64, func(i int) error { return echo(i, []byte{byte(i)}) }); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		c.Close()
		conns[i] = nil
	}
	waitFor(t, "every OnClose", 10*time.Second, func() bool { return stats().Ended == int64(n) })
}
