<?php

declare(strict_types=1);

namespace Spikard\Tests;

/**
 * Drives a real server: `bin/spikard serve APP --port P` in a child
 * process on a free port of 127.0.0.1, and a plain HTTP/1.1 client over
 * sockets.
 */
final class TestServer
{
    /** @var resource */
    private $proc;
    private string $errFile;
    public readonly int $port;

    /** @param list<string> $extra more arguments of `spikard serve` */
    public function __construct(string $app, int $workers = 1, array $extra = [])
    {
        $this->port = self::freePort();
        $this->errFile = tempnam(sys_get_temp_dir(), 'spikard-test-');
        $cmd = [\PHP_BINARY, '-d', 'ffi.enable=1', dirname(__DIR__) . '/bin/spikard', 'serve', $app,
            '--port', (string) $this->port, '--workers', (string) $workers, ...$extra];
        $this->proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', $this->errFile, 'w']], $pipes);
        if (!$this->waitReady()) {
            $log = $this->log();
            $this->stop();
            throw new \RuntimeException("the server did not start:\n$log");
        }
    }

    public static function app(string $name): string
    {
        return __DIR__ . '/apps/' . $name . '.php';
    }

    public static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int) substr($name, strrpos($name, ':') + 1);
    }

    /** Waits (bounded) until the port accepts connections and answers. */
    public function waitReady(float $seconds = 20): bool
    {
        $end = microtime(true) + $seconds;
        while (microtime(true) < $end) {
            if (!$this->running()) {
                return false;
            }
            $c = @stream_socket_client("tcp://127.0.0.1:{$this->port}", $errno, $errstr, 1);
            if ($c !== false) {
                fclose($c);
                return true;
            }
            usleep(50000);
        }
        return false;
    }

    public function running(): bool
    {
        return proc_get_status($this->proc)['running'];
    }

    /** The supervisor's pid. */
    public function pid(): int
    {
        return proc_get_status($this->proc)['pid'];
    }

    /** What the server wrote to stderr so far. */
    public function log(): string
    {
        return (string) file_get_contents($this->errFile);
    }

    /** Waits (bounded) until the log contains $text. */
    public function waitLog(string $text, float $seconds = 20): bool
    {
        $end = microtime(true) + $seconds;
        while (microtime(true) < $end) {
            if (str_contains($this->log(), $text)) {
                return true;
            }
            usleep(50000);
        }
        return false;
    }

    /** Sends a signal and waits (bounded) for the exit; returns the exit code (-1: still running). */
    public function signal(int $sig, float $seconds = 20): int
    {
        $st = proc_get_status($this->proc);
        if (!$st['running']) {
            return $st['exitcode'];
        }
        posix_kill($st['pid'], $sig);
        $end = microtime(true) + $seconds;
        while (microtime(true) < $end) {
            $st = proc_get_status($this->proc);
            if (!$st['running']) {
                return $st['exitcode'];
            }
            usleep(50000);
        }
        return -1;
    }

    public function stop(): void
    {
        if ($this->running() && $this->signal(\SIGTERM) === -1) {
            posix_kill($this->pid(), \SIGKILL);
        }
        proc_close($this->proc);
        @unlink($this->errFile);
    }

    /**
     * One request on a new connection.
     *
     * @param array<string, string> $headers
     * @return array{status: int, headers: array<string, list<string>>, body: string, json: mixed}
     */
    public function request(string $method, string $path, array $headers = [], ?string $body = null): array
    {
        $c = stream_socket_client("tcp://127.0.0.1:{$this->port}", $errno, $errstr, 5);
        if ($c === false) {
            throw new \RuntimeException("connect: $errstr");
        }
        stream_set_timeout($c, 20);
        $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
        foreach ($headers as $k => $v) {
            $req .= "$k: $v\r\n";
        }
        if ($body !== null) {
            $req .= 'Content-Length: ' . strlen($body) . "\r\n";
        }
        fwrite($c, $req . "\r\n" . ($body ?? ''));
        $raw = stream_get_contents($c);
        fclose($c);
        return self::parse((string) $raw);
    }

    /** @param array<string, string> $headers */
    public function json(string $method, string $path, mixed $data, array $headers = []): array
    {
        return $this->request($method, $path, $headers + ['Content-Type' => 'application/json'], json_encode($data));
    }

    /** @return array{status: int, headers: array<string, list<string>>, body: string, json: mixed} */
    public static function parse(string $raw): array
    {
        $i = strpos($raw, "\r\n\r\n");
        if ($i === false) {
            return ['status' => 0, 'headers' => [], 'body' => $raw, 'json' => null];
        }
        $lines = explode("\r\n", substr($raw, 0, $i));
        $status = (int) explode(' ', $lines[0])[1];
        $h = [];
        foreach (array_slice($lines, 1) as $l) {
            [$k, $v] = explode(':', $l, 2);
            $h[strtolower($k)][] = trim($v);
        }
        $body = substr($raw, $i + 4);
        if (($h['transfer-encoding'][0] ?? '') === 'chunked') {
            $out = '';
            while (($j = strpos($body, "\r\n")) !== false) {
                $n = hexdec(substr($body, 0, $j));
                if ($n === 0) {
                    break;
                }
                $out .= substr($body, $j + 2, $n);
                $body = substr($body, $j + 2 + $n + 2);
            }
            $body = $out;
        }
        return ['status' => $status, 'headers' => $h, 'body' => $body, 'json' => json_decode($body, true)];
    }
}
