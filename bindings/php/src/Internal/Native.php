<?php

declare(strict_types=1);

namespace Spikard\Internal;

use FFI;
use Spikard\SpikardException;

/**
 * The one libspikard of the process, through PHP FFI.
 *
 * Where the library is found, in order: the SPIKARD_LIBRARY environment
 * variable, build/libspikard.so of this package (scripts/build.php), then
 * the system's libspikard.so. With opcache.preload (see preload.php) the
 * declarations come from the preloaded scope "SPIKARD" instead, which is
 * the way to use it with ffi.enable=preload outside the CLI.
 *
 * @internal
 */
final class Native
{
    public const OK = 0;
    public const EINVAL = -1;
    public const EBADHANDLE = -2;
    public const ETIMEOUT = -5;
    public const ESTATE = -6;
    public const ECLOSED = -8;
    public const EIO = -9;

    private static ?FFI $ffi = null;

    /** @var array{SPIKARD_VERSION: string, SPIKARD_ABI_VERSION: int, SPIKARD_CONFIG_VERSION: int}|null */
    private static ?array $versions = null;

    private static string $declarations = '';

    public static function ffi(): FFI
    {
        return self::$ffi ??= self::load();
    }

    /** The declarations text the FFI was built from (to test for optional functions). */
    public static function declares(string $function): bool
    {
        self::ffi();
        return (bool) preg_match('/\b' . preg_quote($function, '/') . '\s*\(/', self::$declarations);
    }

    public static function libraryPath(): string
    {
        $env = getenv('SPIKARD_LIBRARY');
        if ($env !== false && $env !== '') {
            return $env;
        }
        $local = \dirname(__DIR__, 2) . '/build/libspikard.so';
        return is_file($local) ? $local : 'libspikard.so';
    }

    private static function load(): FFI
    {
        if (!\extension_loaded('ffi')) {
            throw new SpikardException("Spikard needs PHP's FFI extension (ext-ffi), which is not loaded.", 0);
        }
        $header = Header::shippedPath();
        self::$declarations = (string) @file_get_contents($header);
        if (self::$declarations === '') {
            throw new SpikardException("Spikard: $header is missing: run `composer build` (scripts/build.php) in the package.", 0);
        }
        self::$versions = Header::versions(self::$declarations);
        $ffi = null;
        if (\PHP_SAPI !== 'cli' || ini_get('ffi.enable') === 'preload') {
            try {
                $ffi = FFI::scope('SPIKARD');
            } catch (\Throwable) {
                $ffi = null;
            }
        }
        if ($ffi === null) {
            $lib = self::libraryPath();
            try {
                $ffi = FFI::cdef(self::$declarations, $lib);
            } catch (\Throwable $e) {
                throw new SpikardException(
                    "Spikard: cannot load libspikard from $lib: {$e->getMessage()}\n"
                    . "  - build it with `composer build` (scripts/build.php, needs Go), or\n"
                    . "  - point SPIKARD_LIBRARY at a libspikard.so, and\n"
                    . "  - allow FFI: ffi.enable=1 for the CLI (php -d ffi.enable=1), or opcache.preload with preload.php for servers.",
                    0,
                    $e,
                );
            }
        }
        $abi = $ffi->spikard_abi_version();
        if ($abi !== self::$versions['SPIKARD_ABI_VERSION']) {
            throw new SpikardException(sprintf(
                'Spikard: libspikard speaks ABI %d, this package ABI %d: rebuild the library or update the package.',
                $abi,
                self::$versions['SPIKARD_ABI_VERSION'],
            ), 0);
        }
        return $ffi;
    }

    public static function configVersion(): int
    {
        self::ffi();
        return self::$versions['SPIKARD_CONFIG_VERSION'] ?? 1;
    }

    /** Throws the library's error for a negative result code. */
    public static function check(int $rc, string $what): void
    {
        if ($rc < 0) {
            throw self::error($rc, $what);
        }
    }

    public static function error(int $rc, string $what): SpikardException
    {
        $ffi = self::ffi();
        $msg = self::str($ffi->spikard_last_error());
        if ($msg === '') {
            $msg = self::str($ffi->spikard_strerror($rc));
        }
        return new SpikardException("$what: $msg", $rc);
    }

    public static function str(mixed $s): string
    {
        return \is_string($s) ? $s : ($s === null ? '' : FFI::string($s));
    }
}
