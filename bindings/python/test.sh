#!/usr/bin/env bash
# The Python binding's test command: installs the package from source into a
# venv (its build runs `go build -buildmode=c-shared` for libspikard and gcc
# for the extension), then runs the pytest suite (public API over real
# sockets, mypy --strict included), mypy on the package, and the conformance
# runner with -binding python. Exits non-zero on any failure.
#
#   bindings/python/test.sh                  # venv: build/python/test-venv
#   PYTHON=python3.12 bindings/python/test.sh
#   SPIKARD_PY_VENV=/tmp/v bindings/python/test.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${SPIKARD_PY_VENV:-$root/build/python/test-venv}
python=${PYTHON:-python3}

echo "== python binding: venv $venv ($("$python" --version))"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
echo "== pip install bindings/python[test] (go build of libspikard, gcc of spikard._native)"
"$venv/bin/python" -m pip install -q "$here[test]"

echo "== pytest"
(cd "$here" && "$venv/bin/python" -m pytest -q -p no:cacheprovider tests)

echo "== mypy --strict -p spikard"
(cd "$here" && "$venv/bin/python" -m mypy --strict --no-incremental -p spikard)

echo "== conformance -binding python"
cd "$root"
SPIKARD_PYTHON="$venv/bin/python" go run ./cmd/conformance -binding python
