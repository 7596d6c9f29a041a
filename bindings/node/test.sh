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
# compiler. Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

cd "$here"
echo "== npm ci (builds libspikard, the addon, the TypeScript sources)"
npm ci --no-audit --no-fund
node scripts/build.js

echo "== node --test"
node --test test/*.test.*

echo "== conformance (go run ./cmd/conformance -binding node)"
cd "$root"
go run ./cmd/conformance -binding node
