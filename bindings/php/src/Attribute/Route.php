<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/**
 * Declares a controller method as a route handler. Use the method-named
 * forms (#[Get], #[Post], ...) or #[Route('GET', '/path')].
 *
 * Arguments as App::route: $query, $headers, $cookies and $path map
 * parameter names to JSON Schema declarations ("required", "optional",
 * "default" allowed); $body and $response are a JSON Schema array or a DTO
 * class name; $deps names the dependencies the handler receives.
 */
#[\Attribute(\Attribute::TARGET_METHOD | \Attribute::IS_REPEATABLE)]
class Route
{
    /**
     * @param array<string, array<string, mixed>> $query
     * @param array<string, array<string, mixed>> $headers
     * @param array<string, array<string, mixed>> $cookies
     * @param array<string, array<string, mixed>> $path
     * @param array<string, mixed>|class-string|null $body
     * @param array<string, mixed>|class-string|null $response
     * @param list<string> $deps
     * @param array<string, mixed> $options more route members of the configuration document
     */
    public function __construct(
        public string $method,
        public string $path,
        public array $query = [],
        public array $headers = [],
        public array $cookies = [],
        public array $pathParams = [],
        public array|string|null $body = null,
        public array|string|null $response = null,
        public ?string $contentType = null,
        public array $deps = [],
        public ?string $name = null,
        public array $options = [],
    ) {
    }
}
