#!/usr/bin/env bash
# The Node binding's one test command: installs and builds the package
# (npm ci runs scripts/build.js: go build of libspikard, cc of the N-API
# addon, tsc), runs the node:test suite (the public API over real sockets,
# and tsc --noEmit on the typed examples), then the conformance corpus with
# the binding's fixture app.
#
#   bindings/node/test.sh
#
# Needs Node >= 20 with its headers (node_api.h, uv.h), npm, Go, a C
# compiler. Exits non-zero on any failure. Conformance scenarios that need
# what libspikard's C ABI does not offer yet (SPIKARD_NODE_ABI_PENDING, see
# README.md "Missing") are reported, not failed; SPIKARD_CONFORMANCE_STRICT=1
# fails on them too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

cd "$here"
echo "== npm ci (builds libspikard, the addon, the TypeScript sources)"
npm ci --no-audit --no-fund
node scripts/build.js

echo "== node --test"
node --test test/

echo "== conformance (go run ./cmd/conformance -binding node)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$root"
set +e
go run ./cmd/conformance -binding node -json "$out"
rc=$?
set -e
if [ "$rc" -eq 2 ]; then
	echo "conformance: the run could not start" >&2
	exit 1
fi
# Categories whose scenarios need hooks / dependency factories bound through
# the C ABI, or streaming, SSE and WebSockets (reserved in include/spikard.h).
pending=${SPIKARD_NODE_ABI_PENDING-sse streaming websockets}
node - "$out" "${SPIKARD_CONFORMANCE_STRICT:-0}" $pending <<'JS'
const [file, strict, ...pending] = process.argv.slice(2);
const results = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
const failed = results.filter((r) => r.status === 'failed');
const waiting = failed.filter((r) => strict !== '1' && pending.includes(r.category));
const real = failed.filter((r) => !waiting.includes(r));
if (waiting.length) {
  console.log(`conformance: ${waiting.length} failures wait for the C ABI (${pending.join(', ')}):`);
  for (const r of waiting) console.log(`  pending  ${r.file}`);
}
if (real.length) {
  console.log(`conformance: ${real.length} failures:`);
  for (const r of real) console.log(`  FAILED   ${r.file}: ${r.reason}`);
  process.exit(1);
}
console.log('conformance: no failures outside the pending categories');
JS
