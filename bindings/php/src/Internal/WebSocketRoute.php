<?php

declare(strict_types=1);

namespace Spikard\Internal;

use Spikard\Request;
use Spikard\Response;
use Spikard\WebSocket;

/**
 * The handler bound to a WebSocket route's name: the core delivers the
 * connection's events (open, message, close) as requests of that name,
 * one at a time per connection; this turns them into the callbacks. Its
 * answer finishes each event (spikard_respond: a non-empty body is sent as
 * one message; an exception is spikard_respond_error, which closes with 1011).
 *
 * @internal
 */
final class WebSocketRoute
{
    private const OPEN = 4;
    private const MESSAGE = 1;
    private const CLOSE = 2;

    /** @var array<int, WebSocket> the open connections, by conn */
    private array $conns = [];

    private static ?Response $done = null;

    public function __construct(
        private readonly ?\Closure $onOpen,
        private readonly ?\Closure $onMessage,
        private readonly ?\Closure $onClose,
    ) {
    }

    public function __invoke(Request $r): Response
    {
        [$kind, $conn] = $r->wsEvent();
        $ws = $this->conns[$conn] ?? null;
        if ($ws === null) {
            $values = Request::decode($r->valuesJson()); // not $r->path: the Request stays lazy for every event
            $ws = $this->conns[$conn] = new WebSocket($conn, $r->uriPath(), $values['path'] ?? [], $values['query'] ?? [], $r->headerLines());
        }
        $out = null;
        if ($kind === self::MESSAGE) {
            $out = $this->onMessage === null ? null : ($this->onMessage)($ws, $r->rawBody(), $r->method() === 'BINARY');
        } elseif ($kind === self::OPEN) {
            if ($this->onOpen !== null) {
                ($this->onOpen)($ws);
            }
        } elseif ($kind === self::CLOSE) {
            unset($this->conns[$conn]);
            $ws->closed();
            $b = $r->rawBody();
            if ($this->onClose !== null) {
                ($this->onClose)($ws, \strlen($b) >= 2 ? unpack('n', $b)[1] : 1005, (string) substr($b, 2));
            }
        }
        return match (true) {
            $out === null, \is_bool($out) => self::$done ??= new Response(204),
            $out instanceof Response => $out,
            \is_string($out) => new Response(200, ['Content-Type' => 'text/plain; charset=utf-8'], $out),
            default => Response::json($out),
        };
    }
}
