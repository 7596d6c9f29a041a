#!/bin/sh
# Refreshes the embedded documentation UIs from the npm registry.
#
#   core/openapi/assets/update.sh [SWAGGER_UI_VERSION [REDOC_VERSION]]
#
# Pinned versions live here and in README.md; change both, run the script,
# review `git diff --stat core/openapi/assets`, then run
# `go test ./core/openapi/...` (it checks the embedded files and versions).
#
# ReDoc stays on the 2.x line: 3.x sends telemetry to otel.cloud.redocly.com
# unless disabled and loads icons from cdn.redocly.com, so it is not usable
# offline (see README.md).
set -eu

SWAGGER_UI_VERSION=${1:-5.35.0}
REDOC_VERSION=${2:-2.5.4}

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI_VERSION" "redoc@$REDOC_VERSION" >/dev/null
mkdir swagger redoc
tar -xzf "swagger-ui-dist-$SWAGGER_UI_VERSION.tgz" -C swagger
tar -xzf "redoc-$REDOC_VERSION.tgz" -C redoc

test "$(node -p "require('./swagger/package/package.json').version")" = "$SWAGGER_UI_VERSION"
test "$(node -p "require('./redoc/package/package.json').version")" = "$REDOC_VERSION"

mkdir -p "$here/swagger-ui" "$here/redoc"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css \
	favicon-16x16.png favicon-32x32.png LICENSE NOTICE; do
	cp "swagger/package/$f" "$here/swagger-ui/$f"
done
for f in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
	cp "redoc/package/$f" "$here/redoc/$(basename "$f")"
done
printf '%s\n' "$SWAGGER_UI_VERSION" >"$here/swagger-ui/VERSION"
printf '%s\n' "$REDOC_VERSION" >"$here/redoc/VERSION"

# Files are copied verbatim (no minification, no edits) so that they can be
# compared with the registry tarballs; SHA256SUMS records them.
(cd "$here" && sha256sum swagger-ui/* redoc/* | grep -v ' [a-z-]*/VERSION$' >SHA256SUMS)

echo "swagger-ui-dist $SWAGGER_UI_VERSION, redoc $REDOC_VERSION:"
du -ch "$here"/swagger-ui/* "$here"/redoc/* | tail -1
