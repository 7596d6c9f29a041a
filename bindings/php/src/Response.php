<?php

declare(strict_types=1);

namespace Spikard;

/**
 * An answer with a status, headers and a body.
 *
 * Handlers may also return plain values, turned into answers the same way
 * as Response::from does: an array, a JsonSerializable or any other object
 * → 200 application/json; a string → 200 text/plain; null → 204.
 */
final class Response
{
    /** @internal the JSON encoding flags of every answer */
    public const JSON_FLAGS = \JSON_UNESCAPED_SLASHES | \JSON_UNESCAPED_UNICODE | \JSON_PRESERVE_ZERO_FRACTION | \JSON_THROW_ON_ERROR;

    /**
     * @param array<string, string|list<string>> $headers  a list repeats the header (Set-Cookie)
     */
    public function __construct(
        public int $status = 200,
        public array $headers = [],
        public string $body = '',
    ) {
    }

    /** @param array<string, string|list<string>> $headers */
    public static function json(mixed $data, int $status = 200, array $headers = []): self
    {
        return new self($status, $headers + ['Content-Type' => 'application/json'], json_encode($data, self::JSON_FLAGS));
    }

    /** @param array<string, string|list<string>> $headers */
    public static function text(string $text, int $status = 200, array $headers = []): self
    {
        return new self($status, $headers + ['Content-Type' => 'text/plain; charset=utf-8'], $text);
    }

    /** @param array<string, string|list<string>> $headers */
    public static function html(string $html, int $status = 200, array $headers = []): self
    {
        return new self($status, $headers + ['Content-Type' => 'text/html; charset=utf-8'], $html);
    }

    /** @param array<string, string|list<string>> $headers */
    public static function noContent(array $headers = []): self
    {
        return new self(204, $headers);
    }

    public static function redirect(string $location, int $status = 302): self
    {
        return new self($status, ['Location' => $location]);
    }

    /** Turns a handler's return value into a Response (see the class comment). */
    public static function from(mixed $value): self
    {
        return match (true) {
            $value instanceof self => $value,
            \is_string($value) => self::text($value),
            $value === null => new self(204),
            default => self::json($value),
        };
    }

    /** A copy with one more header (a second call with the same name adds a second line). */
    public function withHeader(string $name, string $value): self
    {
        $c = clone $this;
        if (isset($c->headers[$name])) {
            $c->headers[$name] = [...(array) $c->headers[$name], $value];
        } else {
            $c->headers[$name] = $value;
        }
        return $c;
    }

    public function withStatus(int $status): self
    {
        $c = clone $this;
        $c->status = $status;
        return $c;
    }

    /**
     * A copy with a Set-Cookie header.
     *
     * @param array{max_age?: int, expires?: string, path?: string, domain?: string, secure?: bool, http_only?: bool, same_site?: string} $options
     */
    public function withCookie(string $name, string $value, array $options = []): self
    {
        $c = $name . '=' . rawurlencode($value);
        if (isset($options['max_age'])) {
            $c .= '; Max-Age=' . $options['max_age'];
        }
        if (isset($options['expires'])) {
            $c .= '; Expires=' . $options['expires'];
        }
        $c .= '; Path=' . ($options['path'] ?? '/');
        if (isset($options['domain'])) {
            $c .= '; Domain=' . $options['domain'];
        }
        if ($options['secure'] ?? false) {
            $c .= '; Secure';
        }
        if ($options['http_only'] ?? true) {
            $c .= '; HttpOnly';
        }
        if (isset($options['same_site'])) {
            $c .= '; SameSite=' . $options['same_site'];
        }
        return $this->withHeader('Set-Cookie', $c);
    }

    /** @internal the header block spikard_respond reads */
    public function headerBlock(): string
    {
        $b = '';
        foreach ($this->headers as $name => $value) {
            if (\is_array($value)) {
                foreach ($value as $v) {
                    $b .= $name . ': ' . $v . "\n";
                }
            } else {
                $b .= $name . ': ' . $value . "\n";
            }
        }
        return $b;
    }

    public static function reason(int $status): string
    {
        return [
            400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden', 404 => 'Not Found',
            405 => 'Method Not Allowed', 409 => 'Conflict', 410 => 'Gone', 422 => 'Unprocessable Content',
            429 => 'Too Many Requests', 500 => 'Internal Server Error', 501 => 'Not Implemented',
            503 => 'Service Unavailable',
        ][$status] ?? "HTTP $status";
    }
}
