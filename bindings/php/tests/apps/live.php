<?php

declare(strict_types=1);

// Streams, event streams and WebSockets, for LiveTest.

use Spikard\App;
use Spikard\Event;
use Spikard\EventStream;
use Spikard\HttpException;
use Spikard\InvalidEventException;
use Spikard\Request;
use Spikard\Response;
use Spikard\StreamedResponse;
use Spikard\WebSocket;
use Spikard\WebSocketHandler;

/** Where a generator's finally block leaves a mark (the test names the file in the query string). */
function markFile(Request $r): string
{
    parse_str($r->queryString(), $q);
    return sys_get_temp_dir() . '/spikard-live-' . preg_replace('/[^a-z0-9]/', '', (string) ($q['mark'] ?? 'x'));
}

$app = new App();
$app->get('/ping', fn () => ['pong' => true]);

// A bare generator: chunks as they come.
$app->get('/stream', function () {
    yield "one\n";
    yield '';
    yield "two\n";
    yield 3;
});
$app->get('/stream/ndjson', fn () => new StreamedResponse(
    (function () {
        foreach ([1, 2, 3] as $i) {
            yield json_encode(['i' => $i]) . "\n";
        }
    })(),
    status: 206,
    headers: ['X-Stream' => 'yes'],
    contentType: 'application/x-ndjson',
));
// Slow: 200 ms between chunks; the worker serves others meanwhile.
$app->get('/stream/slow', function () {
    for ($i = 0; $i < 10; $i++) {
        usleep(200_000);
        yield "tick $i\n";
    }
});
// Fails before its first chunk: an ordinary answer (the HttpException's status).
$app->get('/stream/refused', function () {
    throw new HttpException(409, 'not now');
    yield 'never';
});
// Fails midway: the body is cut off.
$app->get('/stream/broken', function () {
    yield "first\n";
    throw new \RuntimeException('the producer failed on purpose');
});
// Endless, until the client goes: the finally block leaves a mark.
$app->get('/stream/endless', function (Request $r) {
    $mark = markFile($r);
    return (function () use ($mark) {
        try {
            for ($i = 0; ; $i++) {
                yield str_repeat('x', 1024) . "\n";
                usleep(10_000);
            }
        } finally {
            file_put_contents($mark, 'stopped');
        }
    })();
});

// Server-Sent Events, with an event schema.
$schema = ['type' => 'object', 'required' => ['n'], 'properties' => ['n' => ['type' => 'integer']]];
$app->get('/events', function (Request $r) {
    $last = (int) ($r->lastEventId() ?? 0);
    return new EventStream((function () use ($last) {
        yield new Event(comment: 'hello');
        for ($i = $last + 1; $i <= 3; $i++) {
            yield new Event(data: ['n' => $i], event: 'tick', id: (string) $i, retry: $i === 3 ? 1500 : null);
        }
        try {
            yield new Event(data: ['n' => 'not a number'], id: '4');
        } catch (InvalidEventException $e) {
            yield new Event(data: ['n' => 0, 'rejected' => $e->event?->id, 'why' => $e->getMessage()], event: 'note');
        }
    })());
}, sse: ['event_schema' => $schema]);
// A bare generator on an sse route: strings and arrays as data.
$app->get('/events/plain', function () {
    yield 'line one';
    yield ['n' => 7];
}, sse: true);
// An event the schema rejects, not caught: the stream is cut off.
$app->get('/events/uncaught', function () {
    yield new Event(data: ['n' => 1]);
    yield new Event(data: ['n' => 'x']);
    yield new Event(data: ['n' => 2]);
}, sse: ['event_schema' => $schema]);

// WebSockets.
$closes = [];
$app->websocket(
    '/ws/{room}',
    onOpen: fn (WebSocket $ws) => $ws->sendJson(['room' => $ws->path['room'], 'origin' => $ws->header('origin')]),
    onMessage: function (WebSocket $ws, string $msg, bool $binary) {
        if ($binary) {
            $ws->sendBinary(strrev($msg));
            return null;
        }
        return match ($msg) {
            'boom' => throw new \RuntimeException('the handler failed on purpose'),
            'bye' => $ws->close(4001, 'bye now'),
            'json' => ['echo' => 'json'],
            'bin' => new Response(200, ['Content-Type' => 'application/octet-stream'], "\x00\x01"),
            default => "echo: $msg",
        };
    },
    onClose: function (WebSocket $ws, int $code, string $reason) use (&$closes) {
        $closes[] = ['room' => $ws->path['room'], 'code' => $code, 'reason' => $reason];
    },
    pathParams: ['room' => ['type' => 'string', 'minLength' => 2]],
);
$app->get('/ws-closes', function () use (&$closes) {
    return ['closes' => $closes];
});

final class Upper implements WebSocketHandler
{
    public function onOpen(WebSocket $ws): void
    {
    }

    public function onMessage(WebSocket $ws, string $message, bool $binary): mixed
    {
        return strtoupper($message);
    }

    public function onClose(WebSocket $ws, int $code, string $reason): void
    {
    }
}
$app->websocket('/upper', new Upper(), options: ['subprotocols' => ['shout']]);

return $app;
