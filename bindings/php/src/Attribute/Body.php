<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * The request body: on a method, #[Body(UserDto::class)] or
 * #[Body(['type' => 'object', ...])] declares its schema; on a parameter,
 * the parameter receives the validated body (a DTO when the parameter is
 * typed with a class). A parameter typed with a DTO class needs no
 * attribute.
 */
#[\Attribute(\Attribute::TARGET_METHOD | \Attribute::TARGET_PARAMETER)]
final class Body
{
    /** @param array<string, mixed>|class-string|null $schema */
    public function __construct(public array|string|null $schema = null)
    {
    }
}
