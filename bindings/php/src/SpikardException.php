<?php

declare(strict_types=1);

namespace Spikard;

/**
 * A failure reported by libspikard (the code is the library's negative
 * spikard_error: -1 SPIKARD_EINVAL ... -11 SPIKARD_EINTERNAL), or a
 * declaration this binding cannot translate (code 0).
 */
class SpikardException extends \RuntimeException
{
    public const EINVAL = -1;
    public const EBADHANDLE = -2;
    public const EVERSION = -3;
    public const ECONFIG = -4;
    public const ETIMEOUT = -5;
    public const ESTATE = -6;
    public const ERANGE = -7;
    public const ECLOSED = -8;
    public const EIO = -9;
    public const ENOTIMPL = -10;
    public const EINTERNAL = -11;
}
