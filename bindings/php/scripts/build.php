<?php

declare(strict_types=1);

/*
 * Builds what the PHP binding needs from the Spikard repository:
 *
 *   php scripts/build.php                 libspikard (go build -buildmode=c-shared) into build/,
 *                                         then src/spikard.ffi.h from include/spikard.h
 *   php scripts/build.php --header-only   only src/spikard.ffi.h
 *   php scripts/build.php --lib-only      only libspikard (the tests compare the shipped header)
 *   php scripts/build.php --check-header  exit 1 when src/spikard.ffi.h differs from what
 *                                         include/spikard.h gives
 *
 * Environment: GO (default "go"), CC (default "cc"), SPIKARD_LIBRARY (a prebuilt
 * libspikard.so: copied instead of building).
 */

require_once dirname(__DIR__) . '/src/Internal/Header.php';

use Spikard\Internal\Header;

$pkg = dirname(__DIR__);
$root = dirname($pkg, 2);
$args = array_slice($argv, 1);
$cc = getenv('CC') ?: 'cc';

$src = Header::sourcePath();
if ($src === null) {
    fwrite(STDERR, "build: include/spikard.h not found: run this inside the Spikard repository (bindings/php)\n");
    exit(2);
}
$generated = Header::generate((string) file_get_contents($src), $cc);

if (in_array('--check-header', $args, true)) {
    $shipped = @file_get_contents(Header::shippedPath());
    if ($shipped !== $generated) {
        fwrite(STDERR, "build: src/spikard.ffi.h is out of date with include/spikard.h: run `composer build-header`\n");
        exit(1);
    }
    fwrite(STDERR, "build: src/spikard.ffi.h matches include/spikard.h\n");
    exit(0);
}

if (!in_array('--lib-only', $args, true) && @file_get_contents(Header::shippedPath()) !== $generated) {
    file_put_contents(Header::shippedPath(), $generated);
    fwrite(STDERR, "build: wrote src/spikard.ffi.h\n");
}
if (in_array('--header-only', $args, true)) {
    exit(0);
}

@mkdir("$pkg/build", 0o755, true);
$out = "$pkg/build/libspikard.so";
// For ffi.preload (servers that preload as another user): the declarations with scope and library.
file_put_contents("$pkg/build/spikard.preload.h",
    "#define FFI_SCOPE \"SPIKARD\"\n#define FFI_LIB \"$out\"\n" . (string) file_get_contents(Header::shippedPath()));
$prebuilt = getenv('SPIKARD_LIBRARY');
if ($prebuilt !== false && $prebuilt !== '') {
    if (!copy($prebuilt, $out)) {
        fwrite(STDERR, "build: cannot copy $prebuilt\n");
        exit(1);
    }
    fwrite(STDERR, "build: copied $prebuilt to build/libspikard.so\n");
    exit(0);
}
$go = getenv('GO') ?: 'go';
$cmd = [$go, 'build', '-buildmode=c-shared',
    '-ldflags=-extldflags=-Wl,--version-script=' . $root . '/capi/libspikard.map',
    '-o', $out, './capi'];
fwrite(STDERR, 'build: ' . implode(' ', $cmd) . "\n");
$proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => STDERR, 2 => STDERR], $pipes, $root);
$rc = is_resource($proc) ? proc_close($proc) : 127;
if ($rc !== 0) {
    fwrite(STDERR, "build: go build failed ($rc)\n");
    exit(1);
}
@unlink("$pkg/build/libspikard.h"); // cgo's header is not the contract
fwrite(STDERR, "build: built build/libspikard.so\n");
