#!/bin/sh
# Speaks the conformance protocol (cmd/conformance/PROTOCOL.md) to the C
# fixture app, in both dispatch modes: start an app, request it, stop it.
#   fixtureapp_test.sh FIXTUREAPP [WRAPPER...]   (e.g. a valgrind command)
set -eu
app=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir" || true' EXIT
fail=0
for mode in callback queue; do
	mkfifo "$dir/in.$mode"
	SPIKARD_FIXTURE_MODE=$mode "$@" "$app" <"$dir/in.$mode" >"$dir/out.$mode" 2>"$dir/err.$mode" &
	pid=$!
	exec 3>"$dir/in.$mode"
	wait_line() { # n: wait for n lines of output
		for _ in $(seq $((600 * ${SPIKARD_TEST_SLOW:-1}))); do
			[ "$(wc -l <"$dir/out.$mode")" -ge "$1" ] && return 0
			sleep 0.1
		done
		echo "FAIL $mode: no answer"; cat "$dir/err.$mode"; return 1
	}
	lines=0
	scenario() { # doc handlers: sets port
		printf "%s\n" "{\"app\":$1,\"handlers\":$2}" >&3
		lines=$((lines + 1))
		wait_line $lines
		port=$(sed -n "${lines}p" "$dir/out.$mode" | sed -n 's/{"port":\([0-9]*\)}/\1/p')
		[ -n "$port" ] || { echo "FAIL $mode: $(sed -n "${lines}p" "$dir/out.$mode")"; fail=1; }
	}
	stop() {
		echo '{"stop":true}' >&3
		lines=$((lines + 1))
		wait_line $lines
		[ "$(sed -n "${lines}p" "$dir/out.$mode")" = '{"stopped":true}' ] || { echo "FAIL $mode: stop"; fail=1; }
	}
	expect() { # name want-status want-body curl-args
		name=$1 want=$2 wbody=$3
		shift 3
		out=$(curl -s -D "$dir/h" -w '\n%{http_code}' "$@")
		code=$(printf '%s' "$out" | tail -n1)
		body=$(printf '%s' "$out" | sed '$d')
		if [ "$code" = "$want" ] && [ "$body" = "$wbody" ]; then echo "ok   $mode $name"; else
			echo "FAIL $mode $name: $code $body (want $want $wbody)"; fail=1; fi
	}
	# Under valgrind (SPIKARD_TEST_SLOW) everything runs on one core at a
	# fraction of the speed: the handler timeout stretches with the waits.
	hto=$((30000 * ${SPIKARD_TEST_SLOW:-1}))
	doc='{"version":1,"server":{"host":"127.0.0.1","handler_timeout_ms":'$hto'},"routes":[{"method":"GET","path":"/items/{id:int}","handler":"h0"}]}'
	scenario "$doc" '{"h0":{"status":200,"body":{"id":1,"tags":["a","\"b\""]},"headers":{"X-Extra":"yes"},"set_cookies":["s=1; Path=/"]}}'
	expect body 200 '{"id":1,"tags":["a","\"b\""]}' "http://127.0.0.1:$port/items/1"
	grep -qi '^x-extra: yes' "$dir/h" || { echo "FAIL $mode: header"; fail=1; }
	grep -qi '^set-cookie: s=1' "$dir/h" || { echo "FAIL $mode: cookie"; fail=1; }
	grep -qi '^content-type: application/json' "$dir/h" || { echo "FAIL $mode: content type"; fail=1; }
	expect invalid 422 "$(curl -s "http://127.0.0.1:$port/items/x")" "http://127.0.0.1:$port/items/x"
	stop
	scenario "$doc" '{"h0":{"status":200,"echo":true}}'
	expect echo 200 '{"path":{"id":5}}' "http://127.0.0.1:$port/items/5"
	scenario "$doc" '{"h0":{"status":201,"body_raw":"plain \u00e9\n","content_type":"text/plain"}}'
	expect raw 201 "$(printf 'plain \303\251')" "http://127.0.0.1:$port/items/5"
	scenario "$doc" '{"h0":{"raise":true}}'
	expect raise 500 "$(curl -s "http://127.0.0.1:$port/items/5")" "http://127.0.0.1:$port/items/5"
	grep -q '"status":500' "$dir/h" 2>/dev/null || true
	scenario "$doc" '{"h0":{"status":200,"body":"slow","sleep_ms":200}}'
	expect sleep 200 '"slow"' "http://127.0.0.1:$port/items/5"
	# a lifecycle hook that continues with a header, then the handler
	hdoc='{"version":1,"server":{"handler_timeout_ms":'$hto'},"routes":[{"method":"GET","path":"/h","handler":"h0","middleware":{"lifecycle_hooks":{"pre_handler":[{"name":"k","handler":"h1"}]}}}]}'
	scenario "$hdoc" '{"h0":{"status":200,"body":{"ok":1}},"h1":{"continue":true,"headers":{"X-Hook":"ran"}}}'
	expect hook-continue 200 '{"ok":1}' "http://127.0.0.1:$port/h"
	grep -qi '^x-hook: ran' "$dir/h" || { echo "FAIL $mode: hook header"; fail=1; }
	scenario "$hdoc" '{"h0":{"status":200,"body":{"ok":1}},"h1":{"status":401,"body":{"no":1}}}'
	expect hook-short-circuit 401 '{"no":1}' "http://127.0.0.1:$port/h"
	# errors
	printf '%s\n' '{"app":{"version":1,"routes":[]},"handlers":{"h0":{"teleport":true}}}' >&3
	lines=$((lines + 1)); wait_line $lines
	sed -n "${lines}p" "$dir/out.$mode" | grep -q '"error":".*does not know the handler spec member \\"teleport' || { echo "FAIL $mode: unsupported member: $(sed -n "${lines}p" "$dir/out.$mode")"; fail=1; }
	echo '{"app":{"version":9},"handlers":{}}' >&3
	lines=$((lines + 1)); wait_line $lines
	sed -n "${lines}p" "$dir/out.$mode" | grep -q '"error":".*version 9' || { echo "FAIL $mode: version error"; fail=1; }
	echo 'not json' >&3
	lines=$((lines + 1)); wait_line $lines
	sed -n "${lines}p" "$dir/out.$mode" | grep -q '"error"' || { echo "FAIL $mode: bad line"; fail=1; }
	stop
	exec 3>&-
	wait $pid || { echo "FAIL $mode: exit status $?"; cat "$dir/err.$mode"; fail=1; }
done
exit $fail
