<?php

declare(strict_types=1);

namespace Spikard;

/**
 * Thrown by a handler to answer with a status of its choice (404 for a
 * missing record, 409 for a conflict...). The answer is an RFC 9457
 * problem document: {"type", "title", "status", "detail"} plus $extra.
 * Any other exception is a server error: the core answers its 500 problem
 * with the request id and the exception goes to the log.
 */
class HttpException extends \RuntimeException
{
    /**
     * @param array<string, mixed> $extra  more members of the problem document
     * @param array<string, string> $headers
     */
    public function __construct(
        public readonly int $status,
        string $detail = '',
        public readonly array $extra = [],
        public readonly array $headers = [],
        public readonly ?string $title = null,
        public readonly ?string $type = null,
    ) {
        parent::__construct($detail !== '' ? $detail : ($title ?? "HTTP $status"));
    }

    public function toResponse(): Response
    {
        $doc = [
            'type' => $this->type ?? 'about:blank',
            'title' => $this->title ?? Response::reason($this->status),
            'status' => $this->status,
        ];
        if ($this->getMessage() !== '' && $this->getMessage() !== $doc['title']) {
            $doc['detail'] = $this->getMessage();
        }
        $doc += $this->extra;
        return Response::json($doc, $this->status, ['Content-Type' => 'application/problem+json'] + $this->headers);
    }
}
