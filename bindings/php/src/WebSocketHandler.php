<?php

declare(strict_types=1);

namespace Spikard;

/**
 * A WebSocket route's handler as a class (App::websocket($path, new ChatHandler())).
 * The methods are called one at a time per connection, in order. What
 * onMessage returns is sent back (see App::websocket); an exception closes
 * the connection with 1011 (the trace goes to the log).
 */
interface WebSocketHandler
{
    /** The handshake is done: greet, or remember the connection. */
    public function onOpen(WebSocket $ws): void;

    /** A data message: $binary tells a binary message from a text one (UTF-8, checked). */
    public function onMessage(WebSocket $ws, string $message, bool $binary): mixed;

    /** The connection is over ($code 1006 when it dropped without a close frame). */
    public function onClose(WebSocket $ws, int $code, string $reason): void;
}
