<?php

declare(strict_types=1);

namespace Spikard\Attribute;

/** A GET route; arguments as #[Route] without the method. */
#[\Attribute(\Attribute::TARGET_METHOD | \Attribute::IS_REPEATABLE)]
final class Get extends Route
{
    /**
     * @param array<string, array<string, mixed>> $query
     * @param array<string, array<string, mixed>> $headers
     * @param array<string, array<string, mixed>> $cookies
     * @param array<string, array<string, mixed>> $pathParams
     * @param array<string, mixed>|class-string|null $body
     * @param array<string, mixed>|class-string|null $response
     * @param list<string> $deps
     * @param array<string, mixed> $options
     */
    public function __construct(
        string $path,
        array $query = [],
        array $headers = [],
        array $cookies = [],
        array $pathParams = [],
        array|string|null $body = null,
        array|string|null $response = null,
        ?string $contentType = null,
        array $deps = [],
        ?string $name = null,
        array $options = [],
    ) {
        parent::__construct('GET', $path, $query, $headers, $cookies, $pathParams, $body, $response, $contentType, $deps, $name, $options);
    }
}
