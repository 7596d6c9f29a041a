#!/usr/bin/env bash
# Measures GET /json -> {"message":"Hello, World!"} with wrk on 127.0.0.1,
# served three ways:
#   go-api        the Go API (bench/gohello), the baseline
#   c-callback    a C callback handler answering inside the callback
#   c-queue-b64   one C host thread: spikard_next(batch 64) + spikard_respond
# The three servers run side by side (idle when not measured) and the runs
# are interleaved round by round, so that a noisy machine affects every mode
# alike. Prints each run and the median per mode.
#
#   bindings/c/bench/run.sh [rounds=3] [seconds=6] [connections=64]
#
# Needs wrk, gcc, go. Run from anywhere inside the repository.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
rounds=${1:-3} secs=${2:-6} conns=${3:-64}
out=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$out"
}
trap cleanup EXIT

cd "$root"
go build -buildmode=c-shared -ldflags="-extldflags=-Wl,--version-script=$root/capi/libspikard.map" \
	-o "$out/libspikard.so" ./capi
gcc -O2 -Wall -Iinclude -o "$out/bench_server" bindings/c/bench/bench_server.c \
	-L"$out" -lspikard -Wl,-rpath,"$out" -lpthread
go build -o "$out/gohello" ./bindings/c/bench/gohello

mkfifo "$out/stdin"
exec 3<>"$out/stdin" # keeps the C servers' stdin open
"$out/gohello" -port 18201 2>/dev/null & pids+=($!)
"$out/bench_server" callback 18202 <"$out/stdin" 2>/dev/null & pids+=($!)
"$out/bench_server" queue 18203 64 <"$out/stdin" 2>/dev/null & pids+=($!)
sleep 1
modes=("go-api 18201" "c-callback 18202" "c-queue-b64 18203")
for m in "${modes[@]}"; do # warm up
	wrk -t2 -c"$conns" -d1s "http://127.0.0.1:${m#* }/json" >/dev/null
done
for r in $(seq "$rounds"); do
	for m in "${modes[@]}"; do
		name=${m% *} port=${m#* }
		res=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/json" |
			awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%.0f %s %s", rps, p99, bad ? "NON-2XX:" bad : ""}')
		printf 'round %d  %-12s %s req/s, p99 %s  (load %s)\n' "$r" "$name" "${res%% *}" "$(echo "$res" | cut -d' ' -f2-)" \
			"$(cut -d' ' -f1 /proc/loadavg)"
		echo "${res%% *}" >>"$out/$name"
	done
done
echo
for m in "${modes[@]}"; do
	name=${m% *}
	sort -n "$out/$name" | awk -v n="$name" '{a[NR]=$1} END {printf "%-12s median %6.0f req/s   best %6.0f\n", n, a[int((NR+1)/2)], a[NR]}'
done
