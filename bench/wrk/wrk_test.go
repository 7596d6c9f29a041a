package wrk

import (
	"os"
	"strings"
	"testing"
	"time"
)

const sample = `Running 1s test @ http://127.0.0.1:18181/bad
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   427.85us    1.10ms  16.07ms   92.45%
    Req/Sec    39.10k     7.75k   54.17k    85.71%
  Latency Distribution
     50%   76.00us
     75%  166.00us
     90%    1.09ms
     99%    1.70s
  81614 requests in 1.10s, 10.66MB read
  Socket errors: connect 0, read 3, write 0, timeout 7
  Non-2xx or 3xx responses: 81614
Requests/sec:  74216.47
Transfer/sec:      9.70MB
`

func TestParse(t *testing.T) {
	r, err := Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Requests: 81614, ReqPerSec: 74216.47,
		P50: 76 * time.Microsecond, P75: 166 * time.Microsecond,
		P90: 1090 * time.Microsecond, P99: 1700 * time.Millisecond,
		Non2xx:     81614,
		SocketErrs: SocketErrors{Read: 3, Timeout: 7},
	}
	if r != want {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestParseDurationRounds(t *testing.T) {
	d, err := ParseDuration("535.55ms")
	if err != nil || d != 535550*time.Microsecond {
		t.Fatalf("got %v, %v", d, err)
	}
}

func TestParseRejectsIncomplete(t *testing.T) {
	if _, err := Parse("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Fatal("want an error")
	}
}

func TestWriteScript(t *testing.T) {
	body := []byte("{\"a\":\"]]\\\\\"}\r\n1")
	p, err := WriteScript(t.TempDir(), "x", "POST", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	if !strings.Contains(s, `wrk.body = "{\"a\":\"]]\\\\\"}\013\0101"`) || !strings.Contains(s, `wrk.method = "POST"`) {
		t.Fatalf("script:\n%s", s)
	}
}
