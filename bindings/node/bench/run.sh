#!/usr/bin/env bash
# Spikard for Node against Fastify, Hono (@hono/node-server) and Express, in
# the same sitting, one process each, wrk on 127.0.0.1:
#
#   json     GET /json           -> {"message":"Hello, World!"}
#   params   GET /users/42       a validated integer path parameter
#   post     POST /items         a validated JSON body (post.lua)
#
# Every server runs side by side (idle when not measured) and the runs are
# interleaved round by round, so that a noisy machine affects all alike.
# Prints every run, then the median per server and scenario and its ratio to
# Fastify.
#
#   bench/run.sh [rounds=3] [seconds=5] [connections=64] [servers...]
#
# servers: spikard (poll dispatch), spikard-callback, fastify, hono, express
# (default: all). Needs wrk; installs the peers with npm in bench/peers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3} secs=${2:-5} conns=${3:-64}
shift $(($# < 3 ? $# : 3))
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(spikard spikard-callback fastify hono express)
scenarios=("json /json" "params /users/42" "post /items")
out=$(mktemp -d)
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ "$rc" -ne 0 ]; then
		for f in "$out"/*.log; do echo "== $f"; tail -20 "$f"; done
	fi
	rm -rf "$out"
}
trap cleanup EXIT

(cd "$here/.." && node scripts/build.js)
(cd "$here/peers" && { [ -d node_modules ] || npm ci --no-audit --no-fund; })

port=$((24000 + RANDOM % 20000))
declare -A ports
for s in "${servers[@]}"; do
	port=$((port + 1))
	ports[$s]=$port
	case $s in
	spikard) (cd "$here/peers" && SPIKARD_NODE_DISPATCH=poll exec node spikard.mjs "$port") >"$out/$s.log" 2>&1 & ;;
	spikard-callback) (cd "$here/peers" && SPIKARD_NODE_DISPATCH=callback exec node spikard.mjs "$port") >"$out/$s.log" 2>&1 & ;;
	*) (cd "$here/peers" && exec node "$s.mjs" "$port") >"$out/$s.log" 2>&1 & ;;
	esac
	pids+=($!)
done
for s in "${servers[@]}"; do
	for _ in $(seq 100); do grep -q ready "$out/$s.log" && break; sleep 0.1; done
	grep -q ready "$out/$s.log" || { echo "$s did not start:"; cat "$out/$s.log"; exit 1; }
done

run() { # server scenario-path seconds
	local args=()
	[ "$2" = /items ] && args=(-s "$here/post.lua")
	wrk -t2 -c"$conns" -d"$3s" --latency "${args[@]}" "http://127.0.0.1:${ports[$1]}$2" |
		awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%.0f %s %s", rps, p99, bad ? "NON-2XX:" bad : ""}'
}

for sc in "${scenarios[@]}"; do # warm up (JIT)
	for s in "${servers[@]}"; do run "$s" "${sc#* }" 2 >/dev/null; done
done
for r in $(seq "$rounds"); do
	for sc in "${scenarios[@]}"; do
		for s in "${servers[@]}"; do
			res=$(run "$s" "${sc#* }" "$secs")
			printf 'round %d  %-7s %-17s %7s req/s  p99 %s  (load %s)\n' "$r" "${sc% *}" "$s" "${res%% *}" \
				"$(echo "$res" | cut -d' ' -f2-)" "$(cut -d' ' -f1 /proc/loadavg)"
			echo "${res%% *}" >>"$out/${sc% *}.$s"
		done
	done
done

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
echo
printf '%-8s' scenario
for s in "${servers[@]}"; do printf '%18s' "$s"; done
echo
for sc in "${scenarios[@]}"; do
	name=${sc% *}
	printf '%-8s' "$name"
	ref=""
	[ -f "$out/$name.fastify" ] && ref=$(median "$out/$name.fastify")
	for s in "${servers[@]}"; do
		m=$(median "$out/$name.$s")
		if [ -n "$ref" ] && [ "$ref" -gt 0 ]; then
			printf '%18s' "$m ($(awk -v a="$m" -v b="$ref" 'BEGIN {printf "%.2fx", a/b}'))"
		else
			printf '%18s' "$m"
		fi
	done
	echo
done
echo "(median req/s of $rounds runs of ${secs}s, wrk -t2 -c$conns; ratio to fastify)"
