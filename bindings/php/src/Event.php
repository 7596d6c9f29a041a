<?php

declare(strict_types=1);

namespace Spikard;

/**
 * One Server-Sent Event, for an EventStream. Every member is optional:
 * an event without data is not dispatched by browsers (it still sets the
 * id or the retry delay; a comment-only event keeps a connection busy).
 */
final class Event
{
    /**
     * @param mixed       $data    a string is sent as it is (each line a data field); anything
     *                             else as its JSON text; null: no data
     * @param string|null $event   the event type (browsers: "message" when absent)
     * @param string|null $id      the event id: the client's Last-Event-ID when it reconnects
     * @param int|null    $retry   the client's reconnection delay, in milliseconds
     * @param string|null $comment comment lines, sent before the fields; clients ignore them
     */
    public function __construct(
        public readonly mixed $data = null,
        public readonly ?string $event = null,
        public readonly ?string $id = null,
        public readonly ?int $retry = null,
        public readonly ?string $comment = null,
    ) {
    }

    /** @internal the data field's text, or null */
    public function dataText(): ?string
    {
        $d = $this->data;
        return $d === null || \is_string($d) ? $d : json_encode($d, Response::JSON_FLAGS);
    }
}
