<?php

declare(strict_types=1);

namespace Spikard;

/**
 * What a lifecycle hook returns to let the request go on with changes
 * (returning null goes on without any): a response status and headers, request
 * headers for what runs later (a pre_validation hook's change is what the
 * header parameters see), request state the next hooks and the handler read
 * in Request::$state.
 */
final class Next implements \JsonSerializable
{
    /**
     * @param array<string, string> $headers response headers to set
     * @param array<string, string> $requestHeaders
     * @param array<string, mixed> $state
     */
    public function __construct(
        public readonly ?int $status = null,
        public readonly array $headers = [],
        public readonly array $requestHeaders = [],
        public readonly array $state = [],
    ) {
    }

    /** @return array<string, mixed> the core's "changes" document */
    public function jsonSerialize(): array
    {
        $c = [];
        if ($this->status !== null) {
            $c['status'] = $this->status;
        }
        if ($this->headers !== []) {
            $c['headers'] = $this->headers;
        }
        if ($this->requestHeaders !== []) {
            $c['request_headers'] = $this->requestHeaders;
        }
        if ($this->state !== []) {
            $c['state'] = $this->state;
        }
        return $c;
    }
}
