<?php

declare(strict_types=1);

namespace Spikard;

/**
 * An answer whose body is produced while it is sent (chunked): each chunk
 * the iterable gives is written as it comes.
 *
 *     $app->get('/export', fn () => new StreamedResponse((function () {
 *         foreach (rows() as $row) {
 *             yield json_encode($row) . "\n";
 *         }
 *     })(), contentType: 'application/x-ndjson'));
 *
 * A handler may also return the Generator itself (200, application/octet-stream;
 * an event stream on a route declared with `sse:`). Chunks are strings (or
 * Stringable, int, float); an empty chunk sends nothing.
 *
 * The worker runs the generator up to its first yield before the answer
 * begins: what it throws there is answered as a handler's exception (an
 * HttpException's status, else the core's 500). Afterwards it advances
 * one chunk at a time, in turn with the requests and the other streams of
 * the worker, so read from the Request what the generator needs before its
 * first yield. An exception after the first chunk cuts the body off
 * (spikard_stream_fail: the client sees an incomplete body), and a client
 * that went away stops the generator (it is destroyed: its `finally`
 * blocks run) and ends the stream.
 */
class StreamedResponse
{
    /** @var iterable<mixed> */
    public readonly iterable $chunks;

    /**
     * @param iterable<string|\Stringable|int|float> $chunks
     * @param array<string, string|list<string>> $headers
     */
    public function __construct(
        iterable $chunks,
        public readonly int $status = 200,
        public readonly array $headers = [],
        public readonly ?string $contentType = 'application/octet-stream',
    ) {
        $this->chunks = $chunks;
    }

    /** @internal the header block spikard_stream_begin reads */
    public function headerBlock(): string
    {
        $h = $this->headers;
        if ($this->contentType !== null) {
            $h['Content-Type'] = $this->contentType;
        }
        return (new Response($this->status, $h))->headerBlock();
    }

    /** @internal whether the items are events (spikard_sse_send) rather than chunks */
    public function isEventStream(): bool
    {
        return false;
    }

    /** @internal the chunks as an Iterator */
    public function iterator(): \Iterator
    {
        $c = $this->chunks;
        if ($c instanceof \Generator) {
            return $c;
        }
        $it = match (true) {
            $c instanceof \Iterator => $c,
            $c instanceof \IteratorAggregate => new \IteratorIterator($c),
            default => new \ArrayIterator($c),
        };
        $it->rewind();
        return $it;
    }
}
