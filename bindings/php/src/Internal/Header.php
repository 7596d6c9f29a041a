<?php

declare(strict_types=1);

namespace Spikard\Internal;

/**
 * Generates the declarations PHP FFI reads (src/spikard.ffi.h) from the C
 * ABI's header, include/spikard.h.
 *
 * FFI::cdef accepts neither #include nor #define, so the header is run
 * through the C preprocessor (`cc -E -P`) with its #include lines taken out
 * (FFI knows size_t and the <stdint.h> types), which drops comments, macros
 * and the C++ guard. The macros a binding needs (the ABI and configuration
 * versions) are kept in the first comment line, where Native reads them.
 *
 * @internal
 */
final class Header
{
    /** The file PHP FFI loads, shipped in the package. */
    public static function shippedPath(): string
    {
        return \dirname(__DIR__) . '/spikard.ffi.h';
    }

    /**
     * The repository's include/spikard.h, when the package sits in the
     * Spikard repository (bindings/php); null otherwise.
     */
    public static function sourcePath(): ?string
    {
        $p = \dirname(__DIR__, 4) . '/include/spikard.h';
        return is_file($p) ? $p : null;
    }

    /**
     * Preprocesses $header (the text of spikard.h) into FFI declarations.
     *
     * @throws \RuntimeException when the C preprocessor is missing or fails
     */
    public static function generate(string $header, string $cc = 'cc'): string
    {
        $versions = [];
        foreach (['SPIKARD_VERSION', 'SPIKARD_ABI_VERSION', 'SPIKARD_CONFIG_VERSION'] as $name) {
            if (!preg_match('/^#define\s+' . $name . '\s+(\S+)/m', $header, $m)) {
                throw new \RuntimeException("spikard.h defines no $name");
            }
            $versions[] = $name . '=' . trim($m[1], '"');
        }
        $body = preg_replace('/^\s*#\s*include\b.*$/m', '', $header);
        $proc = proc_open([$cc, '-E', '-P', '-x', 'c', '-'], [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        if (!\is_resource($proc)) {
            throw new \RuntimeException("cannot run the C preprocessor ($cc)");
        }
        fwrite($pipes[0], $body);
        fclose($pipes[0]);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        if (proc_close($proc) !== 0) {
            throw new \RuntimeException("$cc -E failed on spikard.h: $err");
        }
        $lines = [];
        foreach (preg_split('/\R/', $out) as $line) {
            $line = rtrim($line);
            if ($line !== '') {
                $lines[] = $line;
            }
        }
        return '/* spikard.ffi.h ' . implode(' ', $versions) . " */\n"
            . "/* Generated from include/spikard.h by scripts/build.php (cc -E -P): do not edit. */\n"
            . implode("\n", $lines) . "\n";
    }

    /**
     * The versions recorded in the first line of a generated file.
     *
     * @return array{SPIKARD_VERSION: string, SPIKARD_ABI_VERSION: int, SPIKARD_CONFIG_VERSION: int}
     */
    public static function versions(string $ffiHeader): array
    {
        $first = strtok($ffiHeader, "\n");
        preg_match_all('/(SPIKARD_\w+)=(\S+)/', (string) $first, $m, PREG_SET_ORDER);
        $v = [];
        foreach ($m as [, $k, $val]) {
            $v[$k] = $val;
        }
        if (!isset($v['SPIKARD_VERSION'], $v['SPIKARD_ABI_VERSION'], $v['SPIKARD_CONFIG_VERSION'])) {
            throw new \RuntimeException('spikard.ffi.h has no version line: regenerate it (composer build-header)');
        }
        return [
            'SPIKARD_VERSION' => $v['SPIKARD_VERSION'],
            'SPIKARD_ABI_VERSION' => (int) $v['SPIKARD_ABI_VERSION'],
            'SPIKARD_CONFIG_VERSION' => (int) $v['SPIKARD_CONFIG_VERSION'],
        ];
    }
}
