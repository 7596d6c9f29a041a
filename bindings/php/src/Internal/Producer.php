<?php

declare(strict_types=1);

namespace Spikard\Internal;

use FFI;
use Spikard\Event;
use Spikard\InvalidEventException;
use Spikard\Response;
use Spikard\SpikardException;

/**
 * A begun stream and the iterator that produces its body: the worker's
 * loop calls step() for each active producer in turn with the requests,
 * one chunk (or event) per call.
 *
 * @internal
 */
final class Producer
{
    /** @param \Closure(string): void $log */
    public function __construct(
        private ?\Iterator $it,
        private readonly int $stream,
        private readonly bool $sse,
        private readonly string $name,
        private readonly \Closure $log,
    ) {
    }

    /**
     * Writes the current item and advances the iterator to the next one.
     * Returns false once the stream is over (ended, failed, or the client
     * left): drop the producer then.
     */
    public function step(FFI $ffi): bool
    {
        try {
            if (!$this->it->valid()) {
                return $this->finish($ffi, null);
            }
            $item = $this->it->current();
            $rc = $this->sse ? $this->send($ffi, $item) : $this->write($ffi, $item);
            if ($rc === SpikardException::ECLOSED) {
                return $this->finish($ffi, null); // the client left (or a shutdown): stop producing
            }
            if ($rc === SpikardException::EINVAL && $this->sse) {
                $e = new InvalidEventException(
                    Native::str($ffi->spikard_last_error()), // names the route's event_schema and why
                    $item instanceof Event ? $item : null,
                );
                if (!$this->it instanceof \Generator) {
                    throw $e;
                }
                $this->it->throw($e); // at the generator's yield; it goes on if it catches it
            } elseif ($rc < 0) {
                throw Native::error($rc, $this->sse ? 'spikard_sse_send' : 'spikard_stream_write');
            } else {
                $this->it->next();
            }
            return $this->it->valid() || $this->finish($ffi, null);
        } catch (\Throwable $e) {
            ($this->log)(sprintf("spikard: the stream of %s failed: %s: %s\n%s", $this->name, $e::class, $e->getMessage(), $e->getTraceAsString()));
            return $this->finish($ffi, $e::class . ': ' . $e->getMessage());
        }
    }

    /**
     * Ends the stream (cleanly, or cut off with $failure) and drops the
     * iterator: a generator that is not finished is destroyed, so its
     * `finally` blocks run. Returns false.
     */
    public function finish(FFI $ffi, ?string $failure): bool
    {
        if ($this->it === null) {
            return false;
        }
        if ($failure === null) {
            $ffi->spikard_stream_end($this->stream);
        } else {
            $ffi->spikard_stream_fail($this->stream, $failure);
        }
        try {
            $this->it = null;
        } catch (\Throwable $e) {
            ($this->log)(sprintf('spikard: the stream of %s failed while it stopped: %s: %s', $this->name, $e::class, $e->getMessage()));
        }
        return false;
    }

    /** The server stops: event streams end, other streams are cut off. */
    public function cancel(FFI $ffi): void
    {
        $this->finish($ffi, $this->sse ? null : 'the server stopped');
    }

    private function write(FFI $ffi, mixed $chunk): int
    {
        if (!\is_string($chunk)) {
            if (!\is_scalar($chunk) && !$chunk instanceof \Stringable) {
                throw new \TypeError('a stream chunk must be a string, got ' . get_debug_type($chunk));
            }
            $chunk = (string) $chunk;
        }
        return $ffi->spikard_stream_write($this->stream, $chunk, \strlen($chunk));
    }

    private function send(FFI $ffi, mixed $item): int
    {
        if ($item instanceof Event) {
            $data = $item->dataText();
            $ev = $item->event;
            $id = $item->id;
            $cm = $item->comment;
            return $ffi->spikard_sse_send(
                $this->stream,
                $ev,
                $ev === null ? 0 : \strlen($ev),
                $data,
                $data === null ? 0 : \strlen($data),
                $id,
                $id === null ? 0 : \strlen($id),
                $cm,
                $cm === null ? 0 : \strlen($cm),
                $item->retry ?? 0,
            );
        }
        $data = \is_string($item) ? $item : json_encode($item, Response::JSON_FLAGS);
        return $ffi->spikard_sse_send($this->stream, null, 0, $data, \strlen($data), null, 0, null, 0, 0);
    }
}
