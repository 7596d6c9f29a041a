<?php

declare(strict_types=1);

namespace Spikard\Tests;

/** A small RFC 6455 client over a plain socket, for the tests: masked frames, no fragments. */
final class WsClient
{
    /** @var resource */
    private $sock;
    private string $buf = '';
    public readonly int $status;
    /** @var array<string, string> the handshake answer's headers, names lower-cased */
    public readonly array $headers;

    /** @param array<string, string> $headers */
    public function __construct(int $port, string $path, array $headers = [])
    {
        $c = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 5);
        if ($c === false) {
            throw new \RuntimeException("connect: $errstr");
        }
        stream_set_timeout($c, 10);
        $this->sock = $c;
        $key = base64_encode(random_bytes(16));
        $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n";
        foreach ($headers as $k => $v) {
            $req .= "$k: $v\r\n";
        }
        fwrite($c, $req . "\r\n");
        while (!str_contains($this->buf, "\r\n\r\n")) {
            $this->fill();
        }
        [$head, $this->buf] = explode("\r\n\r\n", $this->buf, 2);
        $lines = explode("\r\n", $head);
        $this->status = (int) explode(' ', $lines[0])[1];
        $h = [];
        foreach (\array_slice($lines, 1) as $l) {
            [$k, $v] = explode(':', $l, 2);
            $h[strtolower($k)] = trim($v);
        }
        $this->headers = $h;
        if ($this->status === 101 && ($h['sec-websocket-accept'] ?? '') !== base64_encode(sha1($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11', true))) {
            throw new \RuntimeException('bad Sec-WebSocket-Accept');
        }
    }

    public function sendText(string $s): void
    {
        $this->send(1, $s);
    }

    public function sendBinary(string $s): void
    {
        $this->send(2, $s);
    }

    public function sendClose(int $code, string $reason = ''): void
    {
        $this->send(8, pack('n', $code) . $reason);
    }

    public function send(int $opcode, string $payload): void
    {
        $n = \strlen($payload);
        $f = \chr(0x80 | $opcode);
        $f .= match (true) {
            $n < 126 => \chr(0x80 | $n),
            $n < 65536 => \chr(0x80 | 126) . pack('n', $n),
            default => \chr(0x80 | 127) . pack('J', $n),
        };
        $mask = random_bytes(4);
        $f .= $mask;
        for ($i = 0; $i < $n; $i++) {
            $payload[$i] = $payload[$i] ^ $mask[$i % 4];
        }
        fwrite($this->sock, $f . $payload);
    }

    /**
     * The next data or close frame (pings are answered): [opcode, payload];
     * a close frame's payload is [code, reason]. [0, ''] when the connection ended.
     *
     * @return array{0: int, 1: string|array{0: int, 1: string}}
     */
    public function recv(): array
    {
        while (true) {
            $h = $this->read(2);
            if ($h === null) {
                return [0, ''];
            }
            $op = \ord($h[0]) & 0x0f;
            $n = \ord($h[1]) & 0x7f;
            if ($n === 126) {
                $n = unpack('n', $this->read(2))[1];
            } elseif ($n === 127) {
                $n = unpack('J', $this->read(8))[1];
            }
            $p = $n === 0 ? '' : $this->read($n);
            if ($op === 9) {
                $this->send(10, $p);
                continue;
            }
            if ($op === 8) {
                return [8, [\strlen($p) >= 2 ? unpack('n', $p)[1] : 1005, (string) substr($p, 2)]];
            }
            return [$op, $p];
        }
    }

    public function close(): void
    {
        fclose($this->sock);
    }

    private function read(int $n): ?string
    {
        while (\strlen($this->buf) < $n) {
            if (!$this->fill()) {
                return null;
            }
        }
        $out = substr($this->buf, 0, $n);
        $this->buf = substr($this->buf, $n);
        return $out;
    }

    private function fill(): bool
    {
        $d = fread($this->sock, 65536);
        if ($d === '' || $d === false) {
            if (feof($this->sock) || stream_get_meta_data($this->sock)['timed_out']) {
                return false;
            }
            return $this->fill();
        }
        $this->buf .= $d;
        return true;
    }
}
