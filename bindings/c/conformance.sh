#!/usr/bin/env bash
# Runs the whole conformance corpus through the C fixture app, in both
# dispatch modes (the fixture app alternates callback and queue per
# scenario); every scenario the Go binding passes must pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
go run ./cmd/conformance -binding c
