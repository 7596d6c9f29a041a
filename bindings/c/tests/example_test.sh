#!/bin/sh
# Runs the example on a free port and checks its answers (curl).
set -eu
hello=$1
log=$(mktemp)
"$hello" 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { cat "$log"; exit 1; }
base=http://127.0.0.1:$port
fail=0
check() { # name want-status want-body-substring curl-args...
	name=$1 want=$2 sub=$3
	shift 3
	out=$(curl -s -w '\n%{http_code}' "$@")
	code=$(printf '%s' "$out" | tail -n1)
	body=$(printf '%s' "$out" | sed '$d')
	if [ "$code" != "$want" ] || ! printf '%s' "$body" | grep -qF -- "$sub"; then
		echo "FAIL $name: $code $body (want $want, $sub)"
		fail=1
	else
		echo "ok   $name"
	fi
}
check hello 200 '{"message":"Hello, World!"}' "$base/hello"
check greet 200 '{"message":"Hi, ada! Hi, ada!"}' "$base/hello/ada?greeting=Hi&times=2"
check greet-default 200 '{"message":"Hello, bob!"}' "$base/hello/bob"
check greet-invalid 422 '"less_than_equal"' "$base/hello/ada?times=9"
check greet-enum 422 '"enum"' "$base/hello/ada?greeting=Yo"
check create 201 '{"id":1,"name":"pen","price":1.5,"tags":["office"]}' -XPOST "$base/items" -H 'content-type: application/json' -d '{"name":"pen","price":1.5,"tags":["office"]}'
check create-invalid 422 'greater_than' -XPOST "$base/items" -H 'content-type: application/json' -d '{"name":"pen","price":0}'
check get 200 '"name":"pen"' "$base/items/1"
check get-missing 404 'not-found' "$base/items/7"
kill -INT $pid
wait $pid || { echo "FAIL hello exited with $?"; fail=1; }
grep -q "shutting down" "$log" || { echo "FAIL no graceful shutdown"; cat "$log"; fail=1; }
exit $fail
