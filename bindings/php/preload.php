<?php

declare(strict_types=1);

/*
 * opcache.preload script: compiles the package's classes and loads
 * libspikard's declarations as the FFI scope "SPIKARD", so that FFI can stay
 * restricted to preloading (ffi.enable=preload) wherever PHP code runs:
 *
 *   opcache.enable=1            (opcache.enable_cli=1 for the CLI workers)
 *   opcache.preload=/path/to/bindings/php/preload.php
 *   ffi.enable=preload
 *
 * When PHP starts as root, opcache.preload_user is required and FFI::load
 * is refused with it: load the declarations with ffi.preload instead,
 *
 *   opcache.preload_user=www-data
 *   ffi.preload=/path/to/bindings/php/build/spikard.preload.h   (written by scripts/build.php)
 *
 * The library is the one Spikard\Internal\Native would load (SPIKARD_LIBRARY,
 * build/libspikard.so, libspikard.so).
 */

require __DIR__ . '/src/autoload.php';

$it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator(__DIR__ . '/src', FilesystemIterator::SKIP_DOTS));
foreach ($it as $f) {
    if ($f->getExtension() === 'php' && $f->getFilename() !== 'autoload.php') {
        opcache_compile_file($f->getPathname());
    }
}

if (ini_get('opcache.preload_user') !== '' && ini_get('opcache.preload_user') !== false) {
    return; // ffi.preload loads the scope
}
$decl = (string) file_get_contents(__DIR__ . '/src/spikard.ffi.h');
$lib = Spikard\Internal\Native::libraryPath();
$h = sys_get_temp_dir() . '/spikard-preload-' . md5($decl . $lib) . '.h';
if (!is_file($h)) {
    file_put_contents($h, "#define FFI_SCOPE \"SPIKARD\"\n#define FFI_LIB \"" . addslashes($lib) . "\"\n" . $decl);
}
FFI::load($h);
