<?php

declare(strict_types=1);

namespace Spikard;

/**
 * A Server-Sent Events answer (text/event-stream): each item the iterable
 * gives is sent as one event, as it comes.
 *
 *     $app->get('/ticks', function (Request $r) {
 *         $from = (int) ($r->lastEventId() ?? 0);   // read the request before the first yield
 *         return new EventStream((function () use ($from) {
 *             for ($i = $from + 1; ; $i++) {
 *                 yield new Event(data: ['tick' => $i], event: 'tick', id: (string) $i);
 *                 sleep(1);
 *             }
 *         })());
 *     }, sse: ['keep_alive_ms' => 15000, 'event_schema' => [...]]);
 *
 * Items: an Event; a string (the data); anything else is sent as its JSON
 * text. The core formats the events, sends keep-alive comments while the
 * stream is idle, and checks each event's data against the route's
 * sse.event_schema: an event it rejects is not sent, and the generator
 * gets an InvalidEventException thrown at its `yield` (catch it to go on;
 * uncaught, it cuts the stream off like any exception). The stream runs as
 * StreamedResponse says (interleaved with the worker's other work; a
 * client that leaves stops the generator).
 */
final class EventStream extends StreamedResponse
{
    /**
     * @param iterable<Event|string|array<mixed>|\JsonSerializable> $events
     * @param array<string, string|list<string>> $headers
     */
    public function __construct(iterable $events, int $status = 200, array $headers = [])
    {
        parent::__construct($events, $status, $headers, 'text/event-stream');
    }

    public function isEventStream(): bool
    {
        return true;
    }
}
