#!/usr/bin/env bash
# Benchmark: the same three endpoints served by
#   spikard   bin/spikard serve bench/spikard_app.php (1 worker, libspikard + PHP FFI)
#   php-fpm   plain PHP (bench/fpm/index.php) on nginx + php8.2-fpm (4 static children)
#   slim      Slim 3 (Debian's php-slim, bench/slim/index.php) on the same nginx + php-fpm
# with wrk on 127.0.0.1, rounds interleaved so that a noisy machine affects every
# server alike. Endpoints: json-small (GET /json), path params (GET /users/{id:int}),
# validated JSON POST (POST /items, a body schema). Prints each run and the median
# per server and endpoint, with the ratios.
#
#   bindings/php/bench/run.sh [rounds=3] [seconds=6] [connections=64]
#
# Needs nginx, php8.2-fpm, php-slim, wrk (installed with apt-get when missing) and
# libspikard (built with Go when missing). nginx and php-fpm run from config files
# of this folder on 127.0.0.1 high ports, started and stopped by this script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(cd "$here/.." && pwd)
rounds=${1:-3} secs=${2:-6} conns=${3:-64}
P_SPIKARD=${P_SPIKARD:-18741} P_PLAIN=${P_PLAIN:-18742} P_SLIM=${P_SLIM:-18743} P_FPM=${P_FPM:-18744}
for p in $P_SPIKARD $P_PLAIN $P_SLIM $P_FPM; do
	if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is in use: set P_SPIKARD, P_PLAIN, P_SLIM, P_FPM" >&2; exit 2; fi
done

need=()
command -v nginx >/dev/null || need+=(nginx)
command -v php-fpm8.2 >/dev/null || need+=(php8.2-fpm)
[ -f /usr/share/php/Slim/autoload.php ] || need+=(php-slim)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}" >/dev/null
fi
[ -f "$pkg/build/libspikard.so" ] || php "$pkg/scripts/build.php"

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp"/{body,fastcgi,proxy,uwsgi,scgi}
fill() {
	sed -e "s#@TMP@#$tmp#g" -e "s#@BENCH@#$here#g" -e "s#@FPM_PORT@#$P_FPM#g" -e "s#@PLAIN_PORT@#$P_PLAIN#g" \
		-e "s#@SLIM_PORT@#$P_SLIM#g" -e "s#@USER@#$(id -un)#g" -e "s#@GROUP@#$(id -gn)#g" "$1" >"$2"
}
fill "$here/nginx.conf.in" "$tmp/nginx.conf"
fill "$here/php-fpm.conf.in" "$tmp/php-fpm.conf"

php-fpm8.2 --nodaemonize --allow-to-run-as-root --fpm-config "$tmp/php-fpm.conf" 2>"$tmp/fpm.err" & pids+=($!)
nginx -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/nginx.err" & pids+=($!)
php -d ffi.enable=1 -d opcache.enable_cli=1 "$pkg/bin/spikard" serve "$here/spikard_app.php" \
	--port "$P_SPIKARD" --workers 1 2>"$tmp/spikard.err" & pids+=($!)

for port in $P_SPIKARD $P_PLAIN $P_SLIM; do # wait (bounded) for every server
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/json" && break
		sleep 0.1
	done
done
echo "same answers (status body):"
for port in $P_SPIKARD $P_PLAIN $P_SLIM; do
	printf '  %s  %s  %s  %s\n' "$port" \
		"$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/json")" \
		"$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/users/42")" \
		"$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{"name":"widget","price":9.99,"tags":["red","small"]}' "http://127.0.0.1:$port/items")"
done

servers=("spikard $P_SPIKARD" "php-fpm $P_PLAIN" "slim $P_SLIM")
endpoints=("json-small GET /json" "path-params GET /users/42" "json-post POST /items")
run() { # name port endpoint-name method path seconds
	local extra=()
	[ "$4" = POST ] && extra=(-s "$here/post.lua")
	wrk -t2 -c"$conns" -d"$6s" --latency "${extra[@]}" "http://127.0.0.1:$2$5" |
		awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$NF} /Socket errors/ {err=$0} END {printf "%.0f %s %s %s", rps, p99, bad ? "NON-2XX:" bad : "", err}'
}
for s in "${servers[@]}"; do for e in "${endpoints[@]}"; do # warm up
	set -- $e; run "${s% *}" "${s#* }" "$1" "$2" "$3" 1 >/dev/null
done; done
for r in $(seq "$rounds"); do
	for e in "${endpoints[@]}"; do
		set -- $e
		for s in "${servers[@]}"; do
			name=${s% *} port=${s#* }
			res=$(run "$name" "$port" "$1" "$2" "$3" "$secs")
			printf 'round %d  %-12s %-8s %7s req/s  p99 %s  (load %s)\n' "$r" "$1" "$name" "${res%% *}" \
				"$(echo "$res" | cut -d' ' -f2-)" "$(cut -d' ' -f1 /proc/loadavg)"
			echo "${res%% *}" >>"$tmp/$1.$name"
		done
	done
done
echo
# Medians of each server's runs, and the median of the per-round ratios (each ratio from runs
# of the same round, next to each other in time); a run that failed (0 req/s) is left out.
printf '%-12s %10s %10s %10s %9s %9s\n' endpoint spikard php-fpm slim 'vs fpm' 'vs slim'
for e in "${endpoints[@]}"; do
	set -- $e
	paste "$tmp/$1.spikard" "$tmp/$1.php-fpm" "$tmp/$1.slim" | awk -v e="$1" '
		function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n ? (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) : 0 }
		{ if ($1 > 0) s[++ns] = $1; if ($2 > 0) f[++nf] = $2; if ($3 > 0) l[++nl] = $3
		  if ($1 > 0 && $2 > 0) rf[++nrf] = $1 / $2; if ($1 > 0 && $3 > 0) rl[++nrl] = $1 / $3 }
		END { printf "%-12s %10d %10d %10d %8.1fx %8.1fx\n", e, med(s, ns), med(f, nf), med(l, nl), med(rf, nrf), med(rl, nrl) }'
done
echo "(wrk -t2 -c$conns -d${secs}s, $rounds rounds, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); spikard: 1 worker process)"
