<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * The item type of an array property of a DTO: a DTO class, a backed enum,
 * or "int", "float", "string", "bool".
 */
#[\Attribute(\Attribute::TARGET_PARAMETER | \Attribute::TARGET_PROPERTY)]
final class ArrayOf
{
    public function __construct(public string $type)
    {
    }
}
