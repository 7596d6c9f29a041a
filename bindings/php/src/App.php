<?php

declare(strict_types=1);

namespace Spikard;

use Spikard\Attribute\Body;
use Spikard\Attribute\Controller;
use Spikard\Attribute\Cookie;
use Spikard\Attribute\Header;
use Spikard\Attribute\Inject;
use Spikard\Attribute\PathParam;
use Spikard\Attribute\Query;
use Spikard\Attribute\Route as RouteAttr;

/**
 * A Spikard application: routes, their schemas, dependencies and hooks.
 *
 *     $app = new Spikard\App();
 *     $app->get('/users/{id:int}', fn (Request $r) => ['id' => $r->path['id']]);
 *     $app->post('/users', fn (UserDto $user) => Response::json($user, 201));
 *     $app->controller(UserController::class);
 *     return $app;                // for `spikard serve app.php`
 *
 * Everything declared here becomes ONE configuration document (config()),
 * handed to libspikard when the app listens; routing, validation,
 * conversion, problem answers and middleware run in the library. Handlers
 * run in the worker's PHP thread and see only requests that passed.
 */
final class App
{
    /** @var array<string, mixed> */
    private array $doc;

    /** @var list<array<string, mixed>> */
    private array $routes = [];

    /** @var array<string, array{kind: string, fn: \Closure, sse?: bool}> handler name => what runs (sse: a returned Generator is an EventStream) */
    private array $handlers = [];

    /** @var array<string, array<string, mixed>> */
    private array $dependencies = [];

    /** @var array<string, list<array<string, mixed>>> */
    private array $hooks = [];

    private int $seq = 0;

    /**
     * @param array<string, mixed> $server     server options of the document (max_body_bytes,
     *                                         handler_timeout_ms, shutdown_timeout_ms, ...)
     * @param array<string, mixed> $middleware app-wide middleware (cors, compression, request_id,
     *                                         rate_limit, auth, static_files ...) as the document writes it
     * @param array<string, mixed>|null $openapi serve the OpenAPI document and docs pages
     */
    public function __construct(array $server = [], array $middleware = [], ?array $openapi = null)
    {
        $this->doc = ['version' => 1];
        if ($server !== []) {
            $this->doc['server'] = $server;
        }
        if ($middleware !== []) {
            $this->doc['middleware'] = $middleware;
        }
        if ($openapi !== null) {
            $this->doc['openapi'] = $openapi === [] ? new \stdClass() : $openapi;
        }
    }

    /**
     * An app from a configuration document written by hand (JSON text or
     * its decoded form): bind its handler names with handle().
     *
     * @param array<string, mixed>|\stdClass|string $document
     */
    public static function fromDocument(array|\stdClass|string $document): self
    {
        $app = new self();
        // JSON text is handed to the library as it is (numbers keep their spelling).
        $app->doc = \is_string($document) ? ['rawJson' => $document] : ['raw' => $document];
        return $app;
    }

    /**
     * Binds a handler name of the document to a function. It runs for
     * whatever invokes the name: a route, a hook, a factory (see
     * Request::$call) and its return value is the answer.
     *
     * @param callable(Request): mixed $fn
     */
    public function handle(string $name, callable $fn): self
    {
        $this->handlers[$name] = ['kind' => 'raw', 'fn' => \Closure::fromCallable($fn)];
        return $this;
    }

    /**
     * Registers a route.
     *
     * @param callable $handler  receives the Request, or the arguments it names: a parameter typed
     *                           Request, one typed with a DTO class (the body), one named like a
     *                           path parameter, #[Query]/#[Header]/#[Cookie]/#[Inject] ones
     * @param array<string, array<string, mixed>> $query   name => JSON Schema (+ required/optional/default)
     * @param array<string, array<string, mixed>> $headers
     * @param array<string, array<string, mixed>> $cookies
     * @param array<string, array<string, mixed>> $pathParams  schemas of path parameters ({id:int} needs none)
     * @param array<string, mixed>|class-string|null $body     JSON Schema or a DTO class
     * @param array<string, mixed>|class-string|null $response JSON Schema or a DTO class of 2xx JSON answers
     * @param list<string> $deps  dependency keys the handler receives ($r->dependencies)
     * @param array<string, mixed> $options  more route members of the document (middleware,
     *                                       max_body_size, summary, tags, operation_id, ...)
     * @param array<string, mixed>|bool|null $sse  the route answers Server-Sent Events: the
     *                                       document's "sse" member (keep_alive_ms, retry_ms,
     *                                       event_schema) or true; a Generator the handler returns
     *                                       is then an EventStream
     */
    public function route(
        string $method,
        string $path,
        callable $handler,
        array $query = [],
        array $headers = [],
        array $cookies = [],
        array $pathParams = [],
        array|string|null $body = null,
        array|string|null $response = null,
        ?string $contentType = null,
        array $deps = [],
        ?string $name = null,
        array $options = [],
        array|bool|null $sse = null,
    ): self {
        $name ??= strtolower($method) . '_' . trim((string) preg_replace('/[^A-Za-z0-9]+/', '_', $path), '_') . '_' . $this->seq++;
        $r = ['method' => strtoupper($method), 'path' => $path, 'handler' => $name];
        $params = ['path' => $pathParams, 'query' => $query, 'headers' => $headers, 'cookies' => $cookies];
        $bodyClass = null;
        if (\is_string($body)) {
            $bodyClass = $body;
            $body = Schema::fromClass($body);
        }
        $fn = $this->bind(\Closure::fromCallable($handler), $path, $params, $body, $bodyClass, $deps);
        foreach ($params as $group => $decl) {
            if ($decl !== []) {
                $r['parameters'][$group] = array_map(static fn ($s) => Schema::normalize($s), $decl);
            }
        }
        if ($body !== null) {
            $r['body_schema'] = Schema::normalize($body);
        }
        if ($response !== null) {
            $r['response_schema'] = Schema::normalize(\is_string($response) ? Schema::fromClass($response) : $response);
        }
        if ($contentType !== null) {
            $r['content_type'] = $contentType;
        }
        if ($deps !== []) {
            $r['handler_dependencies'] = array_values(array_unique($deps));
        }
        $this->handlers[$name] = ['kind' => 'route', 'fn' => $fn];
        if ($sse !== null && $sse !== false) {
            $r['sse'] = \is_array($sse) && $sse !== [] ? $sse : new \stdClass();
            $this->handlers[$name]['sse'] = true;
        }
        $this->routes[] = $r + $options;
        return $this;
    }

    /** @param mixed ...$opts named arguments of route() */
    public function get(string $path, callable $handler, mixed ...$opts): self
    {
        return $this->route('GET', $path, $handler, ...$opts);
    }

    /** @param mixed ...$opts named arguments of route() */
    public function post(string $path, callable $handler, mixed ...$opts): self
    {
        return $this->route('POST', $path, $handler, ...$opts);
    }

    /** @param mixed ...$opts named arguments of route() */
    public function put(string $path, callable $handler, mixed ...$opts): self
    {
        return $this->route('PUT', $path, $handler, ...$opts);
    }

    /** @param mixed ...$opts named arguments of route() */
    public function patch(string $path, callable $handler, mixed ...$opts): self
    {
        return $this->route('PATCH', $path, $handler, ...$opts);
    }

    /** @param mixed ...$opts named arguments of route() */
    public function delete(string $path, callable $handler, mixed ...$opts): self
    {
        return $this->route('DELETE', $path, $handler, ...$opts);
    }

    /**
     * Registers a WebSocket route (GET $path, upgraded by the core): the
     * callbacks, or the methods of a WebSocketHandler, receive the
     * connection's events, one at a time per connection and in order.
     *
     *     $app->websocket('/ws/{room}',
     *         onOpen: fn (WebSocket $ws) => $ws->sendJson(['joined' => $ws->path['room']]),
     *         onMessage: fn (WebSocket $ws, string $msg, bool $binary) => $binary ? null : strtoupper($msg),
     *         onClose: fn (WebSocket $ws, int $code, string $reason) => error_log("left: $code"),
     *         options: ['subprotocols' => ['chat'], 'message_schema' => [...]],
     *     );
     *
     * What onMessage returns is sent back: a string as a text message, a
     * Response with Content-Type application/octet-stream as a binary one,
     * an array or object as its JSON text; null and booleans (what the send
     * methods return) send nothing. An exception in a callback closes the
     * connection with 1011 (and is logged). The core does the protocol:
     * handshake, subprotocols, origin checks, UTF-8 and size limits, the
     * message_schema (an invalid message is answered with a validation
     * problem, or closes the connection as on_invalid says), pings.
     *
     * @param callable(WebSocket): void|null $onOpen
     * @param callable(WebSocket, string, bool): mixed|null $onMessage
     * @param callable(WebSocket, int, string): void|null $onClose
     * @param array<string, mixed> $options the route's "websocket" member: subprotocols,
     *                                      max_message_bytes, message_schema, on_invalid,
     *                                      ping_interval_ms, allowed_origins
     * @param array<string, array<string, mixed>> $pathParams
     * @param array<string, array<string, mixed>> $query
     * @param array<string, array<string, mixed>> $headers
     */
    public function websocket(
        string $path,
        ?WebSocketHandler $handler = null,
        ?callable $onOpen = null,
        ?callable $onMessage = null,
        ?callable $onClose = null,
        array $options = [],
        array $pathParams = [],
        array $query = [],
        array $headers = [],
        ?string $name = null,
    ): self {
        return $this->route(
            'GET',
            $path,
            self::webSocketRoute($handler, $onOpen, $onMessage, $onClose),
            query: $query,
            headers: $headers,
            pathParams: $pathParams,
            name: $name ?? 'ws_' . trim((string) preg_replace('/[^A-Za-z0-9]+/', '_', $path), '_') . '_' . $this->seq++,
            options: ['websocket' => $options === [] ? new \stdClass() : $options],
        );
    }

    /**
     * Binds a handler name of the document (a route with a "websocket"
     * member) to WebSocket callbacks, as websocket() does for its route.
     */
    public function handleWebSocket(
        string $name,
        ?WebSocketHandler $handler = null,
        ?callable $onOpen = null,
        ?callable $onMessage = null,
        ?callable $onClose = null,
    ): self {
        return $this->handle($name, self::webSocketRoute($handler, $onOpen, $onMessage, $onClose));
    }

    private static function webSocketRoute(?WebSocketHandler $h, ?callable $onOpen, ?callable $onMessage, ?callable $onClose): Internal\WebSocketRoute
    {
        $fn = static fn (?callable $c, string $method) => $c !== null ? \Closure::fromCallable($c) : ($h !== null ? $h->{$method}(...) : null);
        return new Internal\WebSocketRoute($fn($onOpen, 'onOpen'), $fn($onMessage, 'onMessage'), $fn($onClose, 'onClose'));
    }

    /**
     * Registers the routes of a controller: every public method with a
     * route attribute (#[Get('/users/{id}')], #[Post(...)], #[Route(...)]),
     * under the class's #[Controller(prefix: ...)]. A class name is
     * instantiated once, now (its constructor takes no argument); pass an
     * instance to give it services.
     *
     * @param class-string|object $controller
     */
    public function controller(string|object $controller): self
    {
        $obj = \is_string($controller) ? new $controller() : $controller;
        $rc = new \ReflectionObject($obj);
        $prefix = '';
        foreach ($rc->getAttributes(Controller::class) as $a) {
            $prefix = rtrim($a->newInstance()->prefix, '/');
        }
        foreach ($rc->getMethods(\ReflectionMethod::IS_PUBLIC) as $m) {
            $attrs = $m->getAttributes(RouteAttr::class, \ReflectionAttribute::IS_INSTANCEOF);
            if ($attrs === []) {
                continue;
            }
            $body = null;
            foreach ($m->getAttributes(Body::class) as $b) {
                $body = $b->newInstance()->schema;
            }
            foreach ($attrs as $i => $a) {
                /** @var RouteAttr $ra */
                $ra = $a->newInstance();
                $path = $prefix . ($ra->path === '/' && $prefix !== '' ? '' : $ra->path);
                $this->route(
                    $ra->method,
                    $path === '' ? '/' : $path,
                    $m->getClosure($obj),
                    query: $ra->query,
                    headers: $ra->headers,
                    cookies: $ra->cookies,
                    pathParams: $ra->pathParams,
                    body: $ra->body ?? $body,
                    response: $ra->response,
                    contentType: $ra->contentType,
                    deps: $ra->deps,
                    name: $ra->name ?? ($rc->getShortName() . '.' . $m->getName() . ($i > 0 ? ".$i" : '')),
                    options: $ra->options,
                );
            }
        }
        return $this;
    }

    /**
     * A constant dependency: handlers and hooks that name it receive it.
     */
    public function value(string $key, mixed $value): self
    {
        $this->dependencies[$key] = ['type' => 'value', 'value' => $value];
        return $this;
    }

    /**
     * A dependency made by a factory, resolved by the core for each
     * consumer (or once per request with $cacheable, once per app with
     * $singleton). The factory receives the Request (its $dependencies hold
     * $dependsOn) or arguments named after the keys it depends on; what it
     * returns must encode as JSON, and is what consumers receive. A factory
     * may answer instead (return a Response of status 300 or more).
     * $cleanup runs after the response with the value the factory made.
     *
     * @param list<string> $dependsOn
     */
    public function factory(
        string $key,
        callable $factory,
        array $dependsOn = [],
        bool $singleton = false,
        bool $cacheable = false,
        ?callable $cleanup = null,
    ): self {
        $name = 'factory.' . $key;
        $d = ['type' => 'factory', 'factory' => $name];
        if ($dependsOn !== []) {
            $d['depends_on'] = $dependsOn;
        }
        if ($singleton) {
            $d['singleton'] = true;
        }
        if ($cacheable) {
            $d['cacheable'] = true;
        }
        if ($cleanup !== null) {
            $d['cleanup'] = true;
        }
        $this->dependencies[$key] = $d;
        $params = [];
        $none = null;
        $fn = $this->bind(\Closure::fromCallable($factory), '', $params, $none, null, $dependsOn, strict: false);
        $clean = $cleanup === null ? null : \Closure::fromCallable($cleanup);
        $this->handlers[$name] = ['kind' => 'factory', 'fn' => static function (Request $r) use ($fn, $clean) {
            if (($r->call['kind'] ?? '') === 'cleanup') {
                if ($clean !== null) {
                    $clean($r->call['value'] ?? null, $r);
                }
                return null;
            }
            $v = $fn($r);
            return $v instanceof Response ? $v : Response::json($v);
        }];
        return $this;
    }

    /**
     * A lifecycle hook: $phase is on_request, pre_validation, pre_handler,
     * on_response or on_error. The hook receives the Request ($r->call
     * says the phase, and for on_response / on_error the answer so far);
     * it returns null (or Hook::next(...) with changes) to let the request
     * go on, or an answer (a Response, an array...) that ends it.
     *
     * @param list<string> $deps dependencies the hook receives
     */
    public function hook(string $phase, callable $hook, ?string $name = null, array $deps = []): self
    {
        static $phases = ['on_request', 'pre_validation', 'pre_handler', 'on_response', 'on_error'];
        if (!\in_array($phase, $phases, true)) {
            throw new SpikardException("Spikard: unknown hook phase $phase (want one of " . implode(', ', $phases) . ')', 0);
        }
        $handler = 'hook.' . $phase . '.' . \count($this->hooks[$phase] ?? []);
        $h = ['name' => $name ?? $handler, 'handler' => $handler];
        if ($deps !== []) {
            $h['dependencies'] = $deps;
        }
        $this->hooks[$phase][] = $h;
        $params = [];
        $none = null;
        $fn = $this->bind(\Closure::fromCallable($hook), '', $params, $none, null, $deps, strict: false);
        $this->handlers[$handler] = ['kind' => 'hook', 'fn' => $fn];
        return $this;
    }

    /**
     * A background task, run by the core's background queue (bounded,
     * server.background_workers at once) after the response of the request
     * that asked for it with Request::background($name, $payload). The task
     * receives the payload (decoded JSON) and the request; what it returns
     * is ignored and what it throws is logged. It runs in a worker of this
     * app, between requests.
     *
     * @param callable(mixed, Request): mixed $task
     */
    public function task(string $name, callable $task): self
    {
        $fn = \Closure::fromCallable($task);
        $this->handlers['task.' . $name] = ['kind' => 'task', 'fn' => static function (Request $r) use ($fn) {
            $fn($r->call['payload'] ?? null, $r);
            return null;
        }];
        return $this;
    }

    public function onRequest(callable $hook, ?string $name = null): self
    {
        return $this->hook('on_request', $hook, $name);
    }

    public function preValidation(callable $hook, ?string $name = null): self
    {
        return $this->hook('pre_validation', $hook, $name);
    }

    public function preHandler(callable $hook, ?string $name = null): self
    {
        return $this->hook('pre_handler', $hook, $name);
    }

    public function onResponse(callable $hook, ?string $name = null): self
    {
        return $this->hook('on_response', $hook, $name);
    }

    public function onError(callable $hook, ?string $name = null): self
    {
        return $this->hook('on_error', $hook, $name);
    }

    /**
     * Sets app-wide middleware configuration (merged into what the
     * constructor gave): cors, compression, request_id, rate_limit,
     * jwt_auth, api_key_auth, static_files, request_timeout ... as the
     * configuration document writes them.
     *
     * @param array<string, mixed> $middleware
     */
    public function middleware(array $middleware): self
    {
        $this->doc['middleware'] = $middleware + ($this->doc['middleware'] ?? []);
        return $this;
    }

    /**
     * The configuration document.
     *
     * @return array<string, mixed>|\stdClass
     */
    public function config(): array|\stdClass
    {
        if (isset($this->doc['rawJson'])) {
            return json_decode($this->doc['rawJson'], false, 512, \JSON_THROW_ON_ERROR);
        }
        if (isset($this->doc['raw'])) {
            return $this->doc['raw'];
        }
        $doc = $this->doc + ['routes' => $this->routes];
        if ($this->dependencies !== []) {
            $doc['dependencies'] = $this->dependencies;
        }
        if ($this->hooks !== []) {
            $mw = (array) ($doc['middleware'] ?? []);
            $mw['lifecycle_hooks'] = $this->hooks;
            $doc['middleware'] = $mw;
        }
        return $doc;
    }

    public function configJson(): string
    {
        if (isset($this->doc['rawJson'])) {
            return $this->doc['rawJson'];
        }
        return json_encode($this->config(), Response::JSON_FLAGS);
    }

    /**
     * The OpenAPI 3.1 document the library generates from the routes and
     * schemas (JSON), with the document's "openapi" options.
     */
    public function openapi(): string
    {
        return $this->fromLibrary('spikard_app_openapi');
    }

    /** The configuration document as the library understood it (normalised JSON). */
    public function checkedConfig(): string
    {
        return $this->fromLibrary('spikard_app_config');
    }

    private function fromLibrary(string $fn): string
    {
        $ffi = Internal\Native::ffi();
        $json = $this->configJson();
        $h = $ffi->new('int64_t');
        Internal\Native::check($ffi->spikard_app_new($json, \strlen($json), \FFI::addr($h)), 'spikard_app_new');
        $app = $h->cdata;
        try {
            $len = $ffi->new('size_t');
            $rc = $ffi->{$fn}($app, null, 0, \FFI::addr($len));
            if ($rc !== SpikardException::ERANGE) {
                Internal\Native::check($rc, $fn);
            }
            $n = $len->cdata;
            if ($n === 0) {
                return '';
            }
            $buf = $ffi->new("char[$n]");
            Internal\Native::check($ffi->{$fn}($app, $buf, $n, \FFI::addr($len)), $fn);
            return \FFI::string($buf, $len->cdata);
        } finally {
            $ffi->spikard_app_free($app);
        }
    }

    /**
     * @internal the worker's view of the handlers
     * @return array<string, array{kind: string, fn: \Closure, sse?: bool}>
     */
    public function handlers(): array
    {
        return $this->handlers;
    }

    /** Whether any lifecycle hook is declared (the worker needs spikard_continue then). */
    public function hasHooks(): bool
    {
        return $this->hooks !== [];
    }

    /**
     * Starts serving on host:port in this process and returns the Server;
     * call its serve() to answer requests (it blocks until stop()), or use
     * run().
     */
    public function listen(string $host = '127.0.0.1', int $port = 8000): Server
    {
        $s = new Server($this);
        $s->listen($host, $port);
        return $s;
    }

    /**
     * Serves on host:port until SIGINT or SIGTERM (with ext-pcntl), then
     * stops gracefully. For several workers use `spikard serve`.
     */
    public function run(string $host = '127.0.0.1', int $port = 8000): void
    {
        $s = $this->listen($host, $port);
        $s->stopOnSignals();
        fwrite(\STDERR, "spikard: listening on http://$host:{$s->port()}\n");
        $s->serve();
    }

    /**
     * Prepares, once, how a function is called: which request values each
     * of its parameters receives. Declarations its parameters imply
     * (#[Query] int $page = 1, a DTO-typed body) are added to $params,
     * $body and $deps.
     *
     * @param array<string, array<string, array<string, mixed>>> $params
     * @param array<string, mixed>|null $body
     * @param list<string> $deps
     */
    private function bind(\Closure $fn, string $path, array &$params, ?array &$body, ?string $bodyClass, array &$deps, bool $strict = true): \Closure
    {
        $rf = new \ReflectionFunction($fn);
        $ps = $rf->getParameters();
        preg_match_all('/\{([^}:]+)(?::[^}]*)?\}/', $path, $m);
        $pathNames = array_flip($m[1]);
        $getters = [];
        $simple = true;
        foreach ($ps as $i => $p) {
            $t = $p->getType();
            $tn = $t instanceof \ReflectionNamedType ? $t->getName() : null;
            $name = $p->getName();
            $attr = null;
            foreach ([Body::class, Query::class, Header::class, Cookie::class, PathParam::class, Inject::class] as $ac) {
                $as = $p->getAttributes($ac);
                if ($as !== []) {
                    $attr = $as[0]->newInstance();
                    break;
                }
            }
            if ($attr === null && ($tn === Request::class || ($tn === null && $i === 0 && \count($ps) === 1 && !isset($pathNames[$name])))) {
                $getters[] = static fn (Request $r) => $r;
                continue;
            }
            $simple = false;
            if ($attr instanceof Body || ($attr === null && $tn !== null && !($t instanceof \ReflectionNamedType && $t->isBuiltin()) && class_exists($tn))) {
                if ($attr instanceof Body && $attr->schema !== null && $body === null) {
                    $body = \is_string($attr->schema) ? Schema::fromClass($attr->schema) : $attr->schema;
                }
                if ($tn !== null && class_exists($tn) && $tn !== \stdClass::class) {
                    $body ??= Schema::fromClass($tn);
                    $h = Schema::hydrator($tn);
                    $getters[] = static fn (Request $r) => $r->body === null ? null : $h($r->body);
                } else {
                    $getters[] = static fn (Request $r) => $r->body;
                }
                continue;
            }
            if ($attr instanceof Inject || ($attr === null && \in_array($name, $deps, true))) {
                $key = $attr instanceof Inject ? ($attr->key ?? $name) : $name;
                if (!\in_array($key, $deps, true)) {
                    $deps[] = $key;
                }
                $getters[] = self::valueGetter('dependencies', $key, $p);
                continue;
            }
            if ($attr instanceof PathParam || ($attr === null && isset($pathNames[$name]))) {
                $key = $attr?->name ?? $name;
                if ($attr !== null && $attr->schema !== [] && !isset($params['path'][$key])) {
                    $params['path'][$key] = $attr->schema;
                }
                $getters[] = self::valueGetter('path', $key, $p);
                continue;
            }
            $group = match (true) {
                $attr instanceof Query => 'query',
                $attr instanceof Header => 'headers',
                $attr instanceof Cookie => 'cookies',
                default => null,
            };
            if ($group === null) {
                foreach (['query', 'headers', 'cookies'] as $g) {
                    if (isset($params[$g][$name])) {
                        $group = $g;
                    }
                }
            }
            if ($group !== null) {
                $key = $attr?->name ?? ($group === 'headers' ? str_replace('_', '-', $name) : $name);
                if ($attr !== null && !isset($params[$group][$key])) {
                    // absent is null: a parameter's schema describes present values
                    $s = $attr->schema + Schema::forParameter($p, dropNull: true);
                    if ($p->isDefaultValueAvailable() || ($t !== null && $t->allowsNull())) {
                        $s['optional'] = true;
                    }
                    $params[$group][$key] = $s;
                }
                $getters[] = self::valueGetter($group, $key, $p);
                continue;
            }
            if ($p->isDefaultValueAvailable()) {
                $d = $p->getDefaultValue();
                $getters[] = static fn () => $d;
                continue;
            }
            if (!$strict || ($t !== null && $t->allowsNull())) {
                $getters[] = static fn () => null;
                continue;
            }
            throw new SpikardException(sprintf(
                'Spikard: %s: cannot tell what parameter $%s receives: type it Request or a DTO class, name it after a path parameter, '
                . 'or mark it #[Query], #[Header], #[Cookie], #[Body] or #[Inject]',
                $rf->getName(),
                $name,
            ), 0);
        }
        if ($simple) {
            return $fn;
        }
        return static function (Request $r) use ($fn, $getters) {
            $args = [];
            foreach ($getters as $g) {
                $args[] = $g($r);
            }
            return $fn(...$args);
        };
    }

    private static function valueGetter(string $group, string $key, \ReflectionParameter $p): \Closure
    {
        $t = $p->getType();
        $default = $p->isDefaultValueAvailable() ? $p->getDefaultValue() : null;
        $tn = $t instanceof \ReflectionNamedType ? $t->getName() : null;
        if ($tn !== null && !$t->isBuiltin() && (class_exists($tn) || enum_exists($tn))) {
            $h = Schema::hydrator($tn);
            return static fn (Request $r) => isset($r->{$group}[$key]) ? $h($r->{$group}[$key]) : $default;
        }
        if ($tn === 'float') {
            return static fn (Request $r) => isset($r->{$group}[$key]) ? (float) $r->{$group}[$key] : $default;
        }
        return static fn (Request $r) => $r->{$group}[$key] ?? $default;
    }
}
