<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * A handler parameter that receives the cookies parameter of the same name (or
 * $name). When the route does not declare it, it is declared from the
 * parameter's type and default (int → integer, ?string → optional string,
 * = 1 → default 1), merged with $schema.
 */
#[\Attribute(\Attribute::TARGET_PARAMETER)]
final class Cookie
{
    /** @param array<string, mixed> $schema */
    public function __construct(public ?string $name = null, public array $schema = [])
    {
    }
}
