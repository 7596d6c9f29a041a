<?php

declare(strict_types=1);

namespace Spikard;

/**
 * Thrown into an event stream's generator, at the `yield` of an event
 * whose data the route's sse.event_schema rejects: the event was not sent
 * and the stream goes on if the generator catches it. The message says why
 * the schema refused it.
 */
final class InvalidEventException extends SpikardException
{
    public function __construct(string $message, public readonly ?Event $event = null)
    {
        parent::__construct($message, self::EINVAL);
    }
}
