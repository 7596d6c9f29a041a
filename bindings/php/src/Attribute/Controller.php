<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/** Options of a controller class: a path prefix for every route of the class. */
#[\Attribute(\Attribute::TARGET_CLASS)]
final class Controller
{
    public function __construct(public string $prefix = '')
    {
    }
}
