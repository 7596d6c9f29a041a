#!/usr/bin/env bash
# The Ruby binding against plain Rack on Puma and Sinatra on Puma, same
# sitting, same machine, with wrk on 127.0.0.1:
#   json-small   GET  /json          -> {"message":"Hello, World!"}
#   path-param   GET  /users/{id}    -> {"id":N,"name":"Alice"} (integer path parameter)
#   post-valid   POST /items         -> JSON body validated (schema / by hand), answer built from it
# Servers:
#   spikard       bench/spikard_app.rb: one process, one Ruby thread taking batches of 64
#   rack-puma     bench/rack_app.ru on Debian's puma, 2 workers x 5 threads
#   sinatra-puma  bench/sinatra_app.ru on the same puma settings
# Runs are interleaved round by round so that a noisy machine affects every
# server alike. Prints each run and the median per server and endpoint, and
# the ratios to rack-puma and sinatra-puma. Also prints the CPU time each
# server's processes spent per request (user+system, all its threads and
# worker processes): on a machine shared with other work, throughput moves
# with the load, CPU per request much less.
#
#   bindings/ruby/bench/run.sh [rounds=3] [seconds=6] [connections=64]
#
# Needs: go, wrk, ruby, ruby-ffi, puma, ruby-rack, ruby-sinatra (Debian).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rb=$(dirname "$here")
root=$(cd "$rb/../.." && pwd)
rounds=${1:-3} secs=${2:-6} conns=${3:-64}
out=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$out"
}
trap cleanup EXIT

(cd "$root" && go build -buildmode=c-shared -trimpath \
	-ldflags="-s -w -extldflags=-Wl,--version-script=$root/capi/libspikard.map" -o "$out/libspikard.so" ./capi)

# Free ports, chosen now (other programs may hold fixed ones).
read -r p1 p2 p3 < <(ruby -rsocket -e 's = Array.new(3) { TCPServer.new("127.0.0.1", 0) }; puts s.map { |x| x.addr[1] }.join(" "); s.each(&:close)')
SPIKARD_LIB="$out/libspikard.so" ruby -I "$rb/lib" "$here/spikard_app.rb" "$p1" 2>"$out/spikard.log" & pids+=($!)
puma -e production -w 2 -t 5:5 -b "tcp://127.0.0.1:$p2" "$here/rack_app.ru" >"$out/rack.log" 2>&1 & pids+=($!)
puma -e production -w 2 -t 5:5 -b "tcp://127.0.0.1:$p3" "$here/sinatra_app.ru" >"$out/sinatra.log" 2>&1 & pids+=($!)

servers=("spikard $p1" "rack-puma $p2" "sinatra-puma $p3")
for s in "${servers[@]}"; do # wait until each answers
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:${s#* }/json" >/dev/null && break
		sleep 0.2
	done
	curl -sf "http://127.0.0.1:${s#* }/json" >/dev/null || { echo "${s% *} did not start"; cat "$out"/*.log; exit 1; }
done
# Every server gives the same answers (and is the server started here).
want='{"message":"Hello, World!"} {"id":42,"name":"Alice"} {"id":1,"name":"Widget","price":9.99} 422'
for s in "${servers[@]}"; do
	p=${s#* }
	got="$(curl -s "http://127.0.0.1:$p/json") $(curl -s "http://127.0.0.1:$p/users/42")"
	got+=" $(curl -s -XPOST -H 'Content-Type: application/json' -d '{"name":"Widget","price":9.99,"tags":["tools"]}' "http://127.0.0.1:$p/items")"
	got+=" $(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' -d '{"name":"","price":-1}' "http://127.0.0.1:$p/items")"
	printf '%-13s %s\n' "${s% *}" "$got"
	[ "$got" = "$want" ] || { echo "${s% *} answers differently: want $want"; exit 1; }
done

# CPU ticks (utime+stime) of a process and its children.
tree_ticks() {
	local pids="$1 $(pgrep -P "$1" | tr '\n' ' ')" t=0 p
	for p in $pids; do
		[ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat")))
	done
	echo "$t"
}
tick=$(getconf CLK_TCK)
declare -A spid=([spikard]=${pids[0]} [rack-puma]=${pids[1]} [sinatra-puma]=${pids[2]})

endpoints=("json-small /json" "path-param /users/42" "post-valid /items")
run() { # name port endpoint-name path seconds
	local script=()
	[ "$3" = post-valid ] && script=(-s "$here/post_item.lua")
	local t0 t1
	t0=$(tree_ticks "${spid[$1]}")
	wrk -t2 -c"$conns" -d"$5s" --latency "${script[@]}" "http://127.0.0.1:$2$4" >"$out/wrk.txt"
	t1=$(tree_ticks "${spid[$1]}")
	awk -v t=$((t1 - t0)) -v k="$tick" '/requests in/ {n=$1} /Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {err=$0}
		END {printf "%.0f %.1f %s %s %s", rps, t / k / n * 1e6, p99, bad ? "NON-2XX:" bad : "", err}' "$out/wrk.txt"
}
for s in "${servers[@]}"; do for e in "${endpoints[@]}"; do run "${s% *}" "${s#* }" "${e% *}" "${e#* }" 1 >/dev/null; done; done # warm up
for r in $(seq "$rounds"); do
	for e in "${endpoints[@]}"; do
		for s in "${servers[@]}"; do
			name=${s% *} ep=${e% *}
			res=$(run "$name" "${s#* }" "$ep" "${e#* }" "$secs")
			read -r rps cpu rest <<<"$res"
			printf 'round %d  %-11s %-13s %7s req/s  %5s us CPU/req  p99 %s  (load %s)\n' "$r" "$ep" "$name" "$rps" "$cpu" \
				"$rest" "$(cut -d' ' -f1 /proc/loadavg)"
			echo "$rps" >>"$out/$ep.$name"
			echo "$cpu" >>"$out/$ep.$name.cpu"
		done
	done
done
echo
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median req/s ($rounds rounds of ${secs}s, wrk -t2 -c$conns)"
printf '%-11s %13s %13s %13s %9s %11s\n' endpoint spikard rack-puma sinatra-puma vs-rack vs-sinatra
for e in "${endpoints[@]}"; do
	ep=${e% *}
	s=$(med "$out/$ep.spikard") r=$(med "$out/$ep.rack-puma") n=$(med "$out/$ep.sinatra-puma")
	awk -v e="$ep" -v s="$s" -v r="$r" -v n="$n" \
		'BEGIN {printf "%-11s %13d %13d %13d %8.2fx %10.2fx\n", e, s, r, n, s / r, s / n}'
done
echo
echo "median CPU per request, microseconds (lower is better)"
printf '%-11s %13s %13s %13s %9s %11s\n' endpoint spikard rack-puma sinatra-puma rack/spk sinatra/spk
for e in "${endpoints[@]}"; do
	ep=${e% *}
	s=$(med "$out/$ep.spikard.cpu") r=$(med "$out/$ep.rack-puma.cpu") n=$(med "$out/$ep.sinatra-puma.cpu")
	awk -v e="$ep" -v s="$s" -v r="$r" -v n="$n" \
		'BEGIN {printf "%-11s %13.1f %13.1f %13.1f %8.2fx %10.2fx\n", e, s, r, n, r / s, n / s}'
done
