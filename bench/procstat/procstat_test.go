package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses must not shift the fields.
	line := "1234 (my (odd) srv) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000000 500 18446744073709551615\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Fatalf("cpu = %v, want %v", got, want)
	}
}

func TestParseStatus(t *testing.T) {
	m, err := parseStatus([]byte("Name:\tsrv\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSKiB != 10240 || m.PeakKiB != 20480 {
		t.Fatalf("got %+v", m)
	}
}

func TestSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSSKiB <= 0 {
		t.Fatalf("rss = %d", m.RSSKiB)
	}
}

func TestParseSystemBusy(t *testing.T) {
	got, err := parseSystemBusy([]byte("cpu  100 10 50 9000 40 5 5 30 7 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * time.Second; got != want { // 100+10+50+5+5+30 ticks
		t.Fatalf("busy = %v, want %v", got, want)
	}
}
