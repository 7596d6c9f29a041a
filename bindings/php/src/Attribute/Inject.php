<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * A handler parameter that receives a dependency (App::value,
 * App::factory) by key; without $key, the parameter's name is the key. The
 * route's handler dependencies are completed with it.
 */
#[\Attribute(\Attribute::TARGET_PARAMETER)]
final class Inject
{
    public function __construct(public ?string $key = null)
    {
    }
}
