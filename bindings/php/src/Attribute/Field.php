<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * JSON Schema keywords for one DTO property (a promoted constructor
 * parameter), merged into the schema derived from its type.
 */
#[\Attribute(\Attribute::TARGET_PARAMETER | \Attribute::TARGET_PROPERTY)]
final class Field
{
    /** @param array<string, mixed> $schema any other keywords */
    public function __construct(
        public ?int $minLength = null,
        public ?int $maxLength = null,
        public int|float|null $minimum = null,
        public int|float|null $maximum = null,
        public int|float|null $exclusiveMinimum = null,
        public int|float|null $exclusiveMaximum = null,
        public ?string $pattern = null,
        public ?string $format = null,
        public ?int $minItems = null,
        public ?int $maxItems = null,
        public ?string $description = null,
        public ?string $alias = null,
        public array $schema = [],
    ) {
    }

    /** @return array<string, mixed> */
    public function keywords(): array
    {
        $k = [];
        foreach (['minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'pattern', 'format', 'minItems', 'maxItems', 'description'] as $p) {
            if ($this->{$p} !== null) {
                $k[$p] = $this->{$p};
            }
        }
        return $this->schema + $k;
    }
}
