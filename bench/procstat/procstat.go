// Package procstat reads a server process's memory and CPU use from /proc,
// which costs the measured process nothing (no agent inside it).
package procstat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports; reading it properly needs
// sysconf(_SC_CLK_TCK), i.e. cgo, which the benchmark avoids.
const clockTicks = 100

// Memory is the resident set size now and its peak, in KiB.
type Memory struct {
	RSSKiB, PeakKiB int64
}

// ReadMemory reads VmRSS and VmHWM from /proc/PID/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.RSSKiB
		case "VmHWM":
			dst = &m.PeakKiB
		default:
			continue
		}
		f := strings.Fields(rest) // "12345 kB"
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("procstat: %s: %w", key, err)
		}
		*dst = n
		seen++
	}
	if seen < 2 {
		return m, fmt.Errorf("procstat: VmRSS/VmHWM not found")
	}
	return m, nil
}

// ReadCPU returns the user+system CPU time the process has used so far.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces, so
	// count fields from the last ')': state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procstat: malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("procstat: short stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("procstat: bad utime/stime %q %q", f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// ReadSystemBusy returns the CPU time all CPUs have spent busy (not idle or
// waiting for I/O) since boot, from the first line of /proc/stat. The
// driver subtracts the server's and wrk's own CPU from its delta to see
// how much other processes took during a run: on a shared machine that is
// what makes a run untrustworthy.
func ReadSystemBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseSystemBusy(b)
}

func parseSystemBusy(b []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal [guest guest_nice];
	// guest time is already counted in user.
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("procstat: malformed /proc/stat")
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: /proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// Tree returns roots and all their descendants, from /proc/*/stat.
func Tree(roots []int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return roots
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := append([]int{}, roots...)
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// TreeCPU sums ReadCPU over pids (processes that vanished count 0).
func TreeCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, p := range pids {
		if c, err := ReadCPU(p); err == nil {
			sum += c
		}
	}
	return sum
}

// TreeRSS sums VmRSS over pids, in KiB.
func TreeRSS(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		if m, err := ReadMemory(p); err == nil {
			sum += m.RSSKiB
		}
	}
	return sum
}

// WaitIdle waits, up to limit, until the machine's CPUs are busy with less
// than maxCores cores' worth of work (sampled over half a second): on a
// shared machine, a measurement should not start in the middle of someone
// else's build.
func WaitIdle(ctx context.Context, limit time.Duration, maxCores float64) error {
	if limit <= 0 {
		return nil
	}
	const sample = 500 * time.Millisecond
	deadline := time.Now().Add(limit)
	for {
		b0, err := ReadSystemBusy()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sample):
		}
		b1, _ := ReadSystemBusy()
		if cores := (b1 - b0).Seconds() / sample.Seconds(); cores <= maxCores || time.Now().After(deadline) {
			return nil
		}
	}
}
