#!/usr/bin/env bash
# Builds, installs and tests the PHP binding; exits non-zero on failure.
#
#   bash bindings/php/test.sh
#
# 1. installs the Debian packages it needs when missing (php8.2-cli with FFI, pcntl and
#    posix; phpunit; composer; gcc for `cc -E`)
# 2. builds libspikard with the machine's Go (scripts/build.php --lib-only)
# 3. installs the package into a scratch Composer project from a path repository
#    (no registry) and loads it through vendor/autoload.php
# 4. runs the PHPUnit suite (real servers on free ports; the suite also regenerates
#    src/spikard.ffi.h from include/spikard.h and compares it with the shipped one)
# 5. runs the conformance corpus through the PHP fixture app (streams, event streams and
#    WebSockets included) and fails on any failure.
set -euo pipefail
pkg=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$pkg/../.." && pwd)
cd "$pkg"

need=()
command -v php >/dev/null || need+=(php8.2-cli)
command -v phpunit >/dev/null || need+=(phpunit)
command -v composer >/dev/null || need+=(composer)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
	echo "test.sh: installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mods=$(php -m)
for ext in FFI pcntl posix json; do
	grep -qx "$ext" <<<"$mods" || { echo "test.sh: PHP extension $ext missing" >&2; exit 1; }
done

php scripts/build.php --lib-only

# Installable from a path repository, with no registry.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/composer.json" <<JSON
{
    "name": "spikard/scratch",
    "require": {"spikard/spikard": "*@dev"},
    "repositories": [{"type": "path", "url": "$pkg", "options": {"symlink": true}}, {"packagist.org": false}],
    "minimum-stability": "dev"
}
JSON
composer validate --no-check-publish --no-interaction -q "$pkg/composer.json"
COMPOSER_ALLOW_SUPERUSER=1 composer install --no-interaction --no-progress -q -d "$scratch"
php -d ffi.enable=1 -r 'require $argv[1]; $a = new Spikard\App(); $a->get("/", fn () => []); echo "composer install: ", get_class($a), " from ", (new ReflectionClass($a))->getFileName(), "\n";' "$scratch/vendor/autoload.php"
test -x "$scratch/vendor/bin/spikard"

php -d ffi.enable=1 "$(command -v phpunit)" -c "$pkg/phpunit.xml"

cd "$root"
json="$scratch/conformance.json"
set +e
go run ./cmd/conformance -binding php -json "$json" >"$scratch/conformance.txt" 2>&1
set -e
# the per-category tables and the last line (the failures are in the JSON report)
awk '/^failures \(/ {skip=1} !skip {print}' "$scratch/conformance.txt" | tail -n 80
grep -a '^conformance:' "$scratch/conformance.txt" || true
php -r '
$rows = json_decode(file_get_contents($argv[1]), true) ?? [];
$bad = []; $passed = 0;
foreach ($rows as $r) {
    if ($r["status"] === "passed") { $passed++; }
    if ($r["status"] === "failed") { $bad[] = $r["category"] . "/" . $r["file"] . ": " . $r["reason"]; }
}
if ($rows === [] || $passed === 0) { fwrite(STDERR, "conformance: no result\n"); exit(1); }
printf("conformance (php): %d passed, %d failed\n", $passed, count($bad));
foreach ($bad as $b) { fwrite(STDERR, "  $b\n"); }
exit($bad === [] ? 0 : 1);
' "$json"
