<?php

declare(strict_types=1);

namespace Spikard;

use FFI;
use FFI\CData;

/**
 * One request, as the core hands it over: routed and validated already.
 *
 * The public properties are the route's declared parameters, validated and
 * converted by the core ({id:int} is an int, a query "default" is filled
 * in): `$r->path['id']`, `$r->query['page']`, `$r->headers['x-token']`,
 * `$r->cookies['session']`, `$r->body` (the decoded JSON body, or the form
 * fields). A group holds only what the route declares.
 *
 * The raw request (method(), uriPath(), header(), rawBody() ...) is read
 * from the library's memory on first use, and only while the handler runs:
 * keep the values you need, not the Request. The values are decoded on the
 * first read of one of these properties too, so read them in the handler
 * (or in work it defers with defer()), not after it answered.
 */
final class Request
{
    /** @var array<string, mixed> */
    public readonly array $path;
    /** @var array<string, mixed> */
    public readonly array $query;
    /** @var array<string, mixed> */
    public readonly array $headers;
    /** @var array<string, mixed> */
    public readonly array $cookies;
    /** The validated body: decoded JSON (objects as arrays), form fields, or null. */
    public readonly mixed $body;
    /** @var array<string, mixed> the resolved dependencies the route or hook asked for */
    public readonly array $dependencies;
    /** @var array<string, mixed> request state stored by earlier hooks */
    public readonly array $state;
    /**
     * Why the function runs, for hooks and factories: {"kind": "hook"|"factory"|"cleanup",
     * "phase", "name", "handler", "config", "value" (cleanup), "response": {"status", "headers"}
     * (on_response, on_error), "error" (on_error)}; empty for a route's handler.
     *
     * @var array<string, mixed>
     */
    public readonly array $call;

    /** @var array<string, string>|null */
    private ?array $rawHeaders = null;

    /** The values document (JSON), read from the view on first use. */
    private ?string $valuesJson = null;

    /** @var array{method: string, path: string}|null */
    private ?array $fake = null;

    /** Whether the public properties hold the values (else they are unset, and __get fills them). */
    private bool $decoded = false;

    /** A request whose values properties are unset, cloned for each lazy request. */
    private static ?self $lazyProto = null;

    /** The public properties above, filled from the values document on first read. */
    private const VALUES = ['path' => 1, 'query' => 1, 'headers' => 1, 'cookies' => 1, 'body' => 1, 'dependencies' => 1, 'state' => 1, 'call' => 1];

    /**
     * @internal built by the worker with the values decoded (for a handler known to read them;
     * lazy() otherwise) and by fake()
     * @param array<string, mixed> $values the decoded values document
     */
    public function __construct(private ?CData $view, array $values, ?string $valuesJson = null)
    {
        $this->valuesJson = $valuesJson;
        $this->decoded = true;
        $this->path = $values['path'] ?? [];
        $this->query = $values['query'] ?? [];
        $this->headers = $values['headers'] ?? [];
        $this->cookies = $values['cookies'] ?? [];
        $this->body = $values['body'] ?? null;
        $this->dependencies = $values['dependencies'] ?? [];
        $this->state = $values['state'] ?? [];
        $this->call = $values['call'] ?? [];
    }

    /**
     * @internal a request whose values are decoded when the handler first
     * reads one of the public properties: a handler that answers from
     * rawBody() never pays for decoding them
     */
    public static function lazy(CData $view): self
    {
        $r = clone (self::$lazyProto ??= self::lazyProto());
        $r->view = $view;
        return $r;
    }

    /**
     * @internal the values document decoded (objects as arrays, integers
     * beyond PHP's range as strings)
     * @return array<string, mixed>
     */
    public static function decode(string $json): array
    {
        return $json === '{}' ? [] : json_decode($json, true, 512, \JSON_THROW_ON_ERROR | \JSON_BIGINT_AS_STRING);
    }

    private static function lazyProto(): self
    {
        $r = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $r->view = null;
        // Unset (not merely uninitialized) readonly properties make PHP call __get.
        unset($r->path, $r->query, $r->headers, $r->cookies, $r->body, $r->dependencies, $r->state, $r->call);
        return $r;
    }

    /** @internal whether the handler read the values (a lazy request decoded them) */
    public function decoded(): bool
    {
        return $this->decoded;
    }

    /** First read of a values property of a lazy request: decodes the values document once. */
    public function __get(string $name): mixed
    {
        if (!isset(self::VALUES[$name])) {
            trigger_error('Undefined property: ' . self::class . '::$' . $name, \E_USER_WARNING);
            return null;
        }
        if (!$this->decoded) { // PHP calls __get again after __isset said yes
            $json = $this->valuesJson();
            $this->__construct($this->view, self::decode($json), $json);
        }
        return $this->{$name};
    }

    public function __isset(string $name): bool
    {
        return isset(self::VALUES[$name]) && $this->__get($name) !== null;
    }

    /** A request made in memory, for unit tests of handlers (no raw request data). */
    public static function fake(array $values = [], string $method = 'GET', string $path = '/'): self
    {
        $r = new self(null, $values, json_encode((object) $values, Response::JSON_FLAGS));
        $r->fake = ['method' => $method, 'path' => $path];
        return $r;
    }

    /** The validated values as the core sent them (JSON). */
    public function valuesJson(): string
    {
        if ($this->valuesJson === null) {
            $v = $this->view ?? throw new \LogicException(
                'Spikard\\Request: its values were read after the request was answered: read them in the handler, or keep what you need',
            );
            $this->valuesJson = FFI::string($v->values, $v->values_len);
        }
        return $this->valuesJson;
    }

    public function method(): string
    {
        return $this->fake['method'] ?? $this->field('method');
    }

    /** The request path, percent-decoded and normalised. */
    public function uriPath(): string
    {
        return $this->fake['path'] ?? $this->field('path');
    }

    /** The raw query string, without "?". */
    public function queryString(): string
    {
        return $this->fake === null ? $this->field('query') : '';
    }

    /** The id of the request for logs: the client's X-Request-ID or a generated one. */
    public function requestId(): string
    {
        return $this->fake === null ? $this->field('request_id') : '';
    }

    /** The Last-Event-ID header of a reconnecting Server-Sent Events client, or null. */
    public function lastEventId(): ?string
    {
        return $this->header('last-event-id');
    }

    /**
     * @internal a WebSocket event's kind (SPIKARD_KIND_WS_*) and connection
     * @return array{0: int, 1: int}
     */
    public function wsEvent(): array
    {
        $v = $this->view ?? throw new \LogicException('Spikard\\Request::wsEvent read after the event was finished');
        return [$v->kind, $v->conn];
    }

    /** The raw body (for a route without a body schema, or a binary upload). */
    public function rawBody(): string
    {
        $v = $this->view;
        if ($v === null) {
            return $this->fake === null ? $this->field('body') : '';
        }
        $len = $v->body_len;
        return $len === 0 ? '' : FFI::string($v->body, $len);
    }

    /** The route's handler name in the configuration document. */
    public function handlerName(): string
    {
        return $this->fake === null ? $this->field('handler') : '';
    }

    /** A raw request header (any header, declared or not), case-insensitive. */
    public function header(string $name): ?string
    {
        return $this->headerLines()[strtolower($name)] ?? null;
    }

    /**
     * Every raw request header, names lower-cased (repeated headers joined with ", ").
     *
     * @return array<string, string>
     */
    public function headerLines(): array
    {
        if ($this->rawHeaders === null) {
            $this->rawHeaders = [];
            $block = $this->fake === null ? $this->field('headers') : '';
            foreach ($block === '' ? [] : explode("\r\n", $block) as $line) {
                $i = strpos($line, ':');
                if ($i === false) {
                    continue;
                }
                $k = strtolower(substr($line, 0, $i));
                $v = trim(substr($line, $i + 1));
                $this->rawHeaders[$k] = isset($this->rawHeaders[$k]) ? $this->rawHeaders[$k] . ', ' . $v : $v;
            }
        }
        return $this->rawHeaders;
    }

    /** @var list<\Closure> */
    private array $deferred = [];

    /**
     * Runs $task in this worker after the answer was handed to the library
     * (background work that the client does not wait for, like
     * fastcgi_finish_request). A task that throws is logged.
     */
    public function defer(callable $task): void
    {
        $this->deferred[] = \Closure::fromCallable($task);
    }

    /**
     * Queues background work in the core: after the response is sent, the
     * task registered with App::task($name) runs with $payload (anything
     * that encodes as JSON). Work asked for by a request that then fails is
     * dropped.
     *
     * @throws SpikardException for an unknown request state
     */
    public function background(string $task, mixed $payload = null): void
    {
        $v = $this->view;
        if ($v === null) {
            throw new \LogicException('Spikard\\Request::background called after the request was answered');
        }
        $json = json_encode($payload, Response::JSON_FLAGS);
        $ffi = Internal\Native::ffi();
        Internal\Native::check($ffi->spikard_background($v->id, 'task.' . $task, $json, \strlen($json)), 'spikard_background');
    }

    /**
     * @internal the request is about to be answered: its memory becomes the
     * library's again. The values document is kept (a copy of a few bytes)
     * when it is not decoded yet and deferred work may still read it.
     * Returns the deferred work, to run once the answer is handed over.
     *
     * @return list<\Closure>
     */
    public function close(): array
    {
        $d = $this->deferred;
        if ($d !== []) {
            if ($this->valuesJson === null && $this->view !== null) {
                $this->valuesJson = FFI::string($this->view->values, $this->view->values_len);
            }
            $this->deferred = [];
        }
        $this->view = null;
        return $d;
    }

    private function field(string $name): string
    {
        $v = $this->view;
        if ($v === null) {
            throw new \LogicException("Spikard\\Request::$name read after the request was answered: keep the values, not the Request");
        }
        $len = $v->{$name . '_len'};
        return $len === 0 ? '' : FFI::string($v->{$name}, $len);
    }
}
