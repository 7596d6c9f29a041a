<?php

declare(strict_types=1);

namespace Spikard;

use Spikard\Internal\Native;

/**
 * One WebSocket connection, as its route's callbacks see it (App::websocket).
 * The core did the handshake, validates every message (UTF-8 text,
 * max_message_bytes, the route's message_schema), answers pings and runs
 * the closing handshake; this object sends messages and starts a close.
 * It may be kept and used later, from any handler of the worker (a chat
 * room's members): sends to a connection that is over return false.
 */
final class WebSocket
{
    /** @var array<string, mixed> free for the application's own per-connection state */
    public array $data = [];

    private bool $over = false;

    /**
     * @internal made by the worker when the connection opens
     * @param array<string, mixed>  $path    the upgrade request's validated path parameters
     * @param array<string, mixed>  $query   its validated query parameters
     * @param array<string, string> $headers its raw headers, names lower-cased
     */
    public function __construct(
        public readonly int $id,
        public readonly string $uriPath,
        public readonly array $path,
        public readonly array $query,
        public readonly array $headers,
    ) {
    }

    /** A request header of the upgrade (Origin, Sec-WebSocket-Protocol, a cookie...), case-insensitive. */
    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)] ?? null;
    }

    /**
     * Sends a text message (UTF-8). Returns false when the connection is
     * closing or closed.
     *
     * @throws SpikardException text that is not UTF-8
     */
    public function sendText(string $text): bool
    {
        return $this->send(1, $text);
    }

    /** Sends a binary message. Returns false when the connection is closing or closed. */
    public function sendBinary(string $bytes): bool
    {
        return $this->send(2, $bytes);
    }

    /** Sends $value's JSON text as a text message. Returns false when the connection is closing or closed. */
    public function sendJson(mixed $value): bool
    {
        return $this->send(1, json_encode($value, Response::JSON_FLAGS));
    }

    /**
     * Starts the closing handshake with $code (1000-4999, not 1004-1006 or
     * 1015) and a reason of at most 123 bytes; onClose follows when the
     * client answered (or after 5 s). Returns false when the connection
     * was already over; closing one that is closing does nothing.
     *
     * @throws SpikardException a code an endpoint may not send, or a reason too long
     */
    public function close(int $code = 1000, string $reason = ''): bool
    {
        $rc = Native::ffi()->spikard_ws_close($this->id, $code, $reason, \strlen($reason));
        return $this->result($rc, 'spikard_ws_close');
    }

    /** Whether the connection is over (onClose ran or is running). */
    public function isClosed(): bool
    {
        return $this->over;
    }

    /** @internal the connection's close event came */
    public function closed(): void
    {
        $this->over = true;
    }

    private function send(int $opcode, string $data): bool
    {
        $rc = Native::ffi()->spikard_ws_send($this->id, $opcode, $data, \strlen($data));
        return $this->result($rc, 'spikard_ws_send');
    }

    private function result(int $rc, string $what): bool
    {
        if ($rc === 0) {
            return true;
        }
        if ($rc === SpikardException::ECLOSED) {
            return false;
        }
        throw Native::error($rc, $what);
    }
}
