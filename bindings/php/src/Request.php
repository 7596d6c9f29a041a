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
 * keep the values you need, not the Request.
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

    /**
     * @internal built by the worker
     * @param array<string, mixed> $values the decoded values document
     */
    public function __construct(
        private ?CData $view,
        array $values,
        private readonly string $valuesJson,
    ) {
        $this->path = $values['path'] ?? [];
        $this->query = $values['query'] ?? [];
        $this->headers = $values['headers'] ?? [];
        $this->cookies = $values['cookies'] ?? [];
        $this->body = $values['body'] ?? null;
        $this->dependencies = $values['dependencies'] ?? [];
        $this->state = $values['state'] ?? [];
        $this->call = $values['call'] ?? [];
    }

    /** A request made in memory, for unit tests of handlers (no raw request data). */
    public static function fake(array $values = [], string $method = 'GET', string $path = '/'): self
    {
        $r = new self(null, $values, json_encode((object) $values, Response::JSON_FLAGS));
        $r->fake = ['method' => $method, 'path' => $path];
        return $r;
    }

    /** @var array{method: string, path: string}|null */
    private ?array $fake = null;

    /** The validated values as the core sent them (JSON). */
    public function valuesJson(): string
    {
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

    /** The raw body (for a route without a body schema, or a binary upload). */
    public function rawBody(): string
    {
        return $this->fake === null ? $this->field('body') : '';
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
     * @internal
     * @return list<\Closure>
     */
    public function takeDeferred(): array
    {
        $d = $this->deferred;
        $this->deferred = [];
        return $d;
    }

    /** @internal the request was answered: its memory is the library's again */
    public function close(): void
    {
        $this->view = null;
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
