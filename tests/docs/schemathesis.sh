#!/usr/bin/env bash
# Property-based check of a running app against its own OpenAPI document with
# schemathesis (PyPI): every documented operation is called with generated
# valid and invalid input, and every answer must be documented (status code,
# content type, headers) and match its schema, with no 5xx. Exits non-zero on
# any failure.
#
#   tests/docs/schemathesis.sh          # the demo app (./cmd/demo), every check
#   tests/docs/schemathesis.sh rich     # ./tests/docs/richapp: every feature the
#                                       # generator documents (see below)
#
# The rich app runs without the negative_data_rejection check and the
# stateful phase: the core coerces parameter and form strings leniently on
# purpose ("0", "" and "off" are false; fixtures/coercion), which that check
# reads as invalid data accepted, and the stateful phase guesses links from
# names (the integer id of POST /users into the uuid user_id of
# /avatars/{user_id}).
#
# Environment:
#   ST_EXAMPLES   test cases per operation and phase (default 50)
#   ST_SEED       random seed (default 1; "random" for a new one each run)
#   ST_TIMEOUT    hard limit of the st run in seconds (default 300)
#   ST_VENV       virtualenv with schemathesis (default build/schemathesis-venv;
#                 created and filled with pip when missing or of another version)
#   PYTHON        interpreter for the virtualenv (default python3)
#
# Reports go to build/artifacts/schemathesis/<app>/ (JUnit XML, NDJSON log,
# the app's log).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

target=${1:-demo}
ST_VERSION=4.32.5
examples=${ST_EXAMPLES:-50}
seed=${ST_SEED:-1}
limit=${ST_TIMEOUT:-300}
venv=${ST_VENV:-$root/build/schemathesis-venv}
reports=$root/build/artifacts/schemathesis/$target

case $target in
  demo) pkg=./cmd/demo ;;
  rich) pkg=./tests/docs/richapp ;;
  *) echo "usage: $0 [demo|rich]" >&2; exit 2 ;;
esac

if ! "$venv/bin/st" --version 2>/dev/null | grep -qF "$ST_VERSION"; then
  echo "schemathesis: installing schemathesis==$ST_VERSION into $venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

mkdir -p "$reports"
bin=$root/build/schemathesis-$target
go build -o "$bin" "$pkg"

port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
args=(-port "$port")
if [ "$target" = demo ]; then
  args+=(-host 127.0.0.1)
fi
"$bin" "${args[@]}" >"$reports/app.log" 2>&1 &
app_pid=$!
trap 'kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true' EXIT

st_args=(
  --wait-for-schema 30
  --checks all
  --max-examples "$examples"
  --request-timeout 10
  --generation-database none
  --report junit,ndjson --report-dir "$reports"
  --no-color
)
if [ "$seed" != random ]; then
  st_args+=(--seed "$seed")
fi
if [ "$target" = rich ]; then
  # The rich app's credentials (tests/docs/richapp/main.go): its API key, and
  # an HS256 JWT with a role claim signed with its secret.
  jwt=$("$venv/bin/python" - <<'EOF'
import base64, hashlib, hmac, json
enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = enc(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = enc(json.dumps({"sub": "schemathesis", "role": "admin", "exp": 4102444800}).encode())
sig = hmac.new(b"schemathesis-secret-0123456789abcdef", f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{enc(sig)}")
EOF
)
  st_args+=(
    -H "X-API-Key: st-key" -H "Authorization: Bearer $jwt"
    --exclude-checks negative_data_rejection
    --phases examples,coverage,fuzzing
  )
fi

start=$(date +%s)
status=0
(cd "$reports" && timeout --kill-after=10 "$limit" "$venv/bin/st" run "$base/openapi.json" "${st_args[@]}") || status=$?
echo "schemathesis ($target): exit $status after $(( $(date +%s) - start ))s (reports in $reports)"
if [ "$status" = 124 ]; then
  echo "schemathesis: the run did not finish within ${limit}s" >&2
fi
exit "$status"
