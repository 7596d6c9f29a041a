<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;
use Spikard\Internal\Header;
use Spikard\Internal\Native;

/** The FFI declarations are include/spikard.h, preprocessed, and the library agrees. */
final class HeaderTest extends TestCase
{
    public function testShippedDeclarationsAreGeneratedFromTheHeader(): void
    {
        $src = Header::sourcePath();
        self::assertNotNull($src, 'include/spikard.h not found');
        $want = Header::generate((string) file_get_contents($src));
        self::assertSame($want, file_get_contents(Header::shippedPath()),
            'src/spikard.ffi.h is out of date with include/spikard.h: run `composer build-header`');
        self::assertStringNotContainsString('#include', $want);
        self::assertStringNotContainsString('#define', $want);
    }

    public function testVersionsLineAndLibraryAgree(): void
    {
        $v = Header::versions((string) file_get_contents(Header::shippedPath()));
        $ffi = Native::ffi();
        self::assertSame($v['SPIKARD_ABI_VERSION'], $ffi->spikard_abi_version());
        self::assertSame($v['SPIKARD_VERSION'], Native::str($ffi->spikard_version()));
        self::assertSame(1, Native::configVersion());
        self::assertTrue(Native::declares('spikard_respond_error'));
        self::assertFalse(Native::declares('spikard_no_such_function'));
    }

    public function testErrorsCarryTheLibraryMessage(): void
    {
        $ffi = Native::ffi();
        $out = $ffi->new('int64_t');
        $doc = '{"version": 99}';
        $rc = $ffi->spikard_app_new($doc, strlen($doc), \FFI::addr($out));
        self::assertSame(-3, $rc);
        $e = Native::error($rc, 'spikard_app_new');
        self::assertSame(-3, $e->getCode());
        self::assertStringContainsString('version', $e->getMessage());
    }

    public function testRequestLayoutMatchesTheLibrary(): void
    {
        // 2 x uint32, 3 x 64-bit, 8 (pointer, length) pairs, conn (ABI 2)
        self::assertSame(8 + 24 + 8 * 16 + 8, \FFI::sizeof(Native::ffi()->new('spikard_request')));
    }
}
