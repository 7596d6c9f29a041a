<?php

declare(strict_types=1);

namespace Spikard;

use FFI;
use FFI\CData;
use Spikard\Internal\Native;
use Spikard\Internal\Producer;

/**
 * One app served by this process: libspikard accepts, routes and validates
 * on its own threads and queues the requests that reach a handler; serve()
 * takes them from the queue in batches of up to 64 (spikard_next) and runs
 * each handler here, in PHP's thread. PHP code never runs on a library
 * thread.
 *
 * A handler that throws is answered by the core's 500 problem with the
 * request id (the exception and its trace go to stderr); an HttpException
 * becomes a problem of its status; the worker keeps serving.
 *
 * Streams (a handler that returns a Generator, a StreamedResponse or an
 * EventStream) are produced in the same thread, in turn with the requests:
 * while any stream is active the loop takes what is queued without
 * waiting (spikard_try_next), then advances every active stream by one
 * chunk, and so on. A generator that sleeps between chunks delays the
 * worker's other work by that sleep each round, never for the whole
 * stream. A client that stops reading without closing its connection
 * blocks the worker once 16 chunks wait for it (spikard_stream_write's
 * backpressure): give such streams their own workers (`--workers`).
 */
final class Server
{
    public const BATCH = 64;

    private FFI $ffi;
    private int $app = 0;
    private int $port = 0;
    private bool $stopping = false;
    private bool $serving = false;
    private bool $closed = false;
    private bool $canContinue;
    private int $served = 0;

    /** @var array<int, array{kind: string, fn: \Closure, name: string, sse?: bool}> */
    private array $byTag = [];

    /**
     * @var array<int, bool> tag => whether its handler reads the values
     * (decoded before the call; a handler is lazy until it reads them once)
     */
    private array $eager = [];

    /** The request being handled, and the rest of its batch, for a worker that dies. */
    private ?CData $batch = null;
    /** @var list<CData> */
    private array $views = [];
    private int $batchAt = 0;
    private int $batchEnd = 0;

    /** @var (callable(string): void)|null */
    private $logger;

    /** @var array<int, Producer> the streams being produced */
    private array $producers = [];
    private ?CData $streamOut = null;

    public function __construct(private readonly App $app_, ?callable $logger = null)
    {
        $this->ffi = Native::ffi();
        $this->logger = $logger;
        $this->canContinue = Native::declares('spikard_continue');
    }

    /** The document with server.reuse_port set (unchanged when it is not a JSON object). */
    public static function withReusePort(string $json): string
    {
        $doc = json_decode($json, false);
        if (!$doc instanceof \stdClass) {
            return $json;
        }
        $server = isset($doc->server) && $doc->server instanceof \stdClass ? $doc->server : new \stdClass();
        $server->reuse_port = true;
        $doc->server = $server;
        return json_encode($doc, Response::JSON_FLAGS);
    }

    /**
     * Creates the library's app from the document and listens. With
     * $reusePort the document's server section gets "reuse_port": true:
     * libspikard listens with SO_REUSEPORT, so that several worker
     * processes (`spikard serve --workers N`) share the port.
     */
    public function listen(string $host, int $port, bool $reusePort = false): void
    {
        $json = $this->app_->configJson();
        if ($reusePort) {
            $json = self::withReusePort($json);
        }
        $ffi = $this->ffi;
        $out = $ffi->new('int64_t');
        Native::check($ffi->spikard_app_new($json, \strlen($json), FFI::addr($out)), 'spikard_app_new');
        $this->app = $out->cdata;
        $tag = 1;
        foreach ($this->app_->handlers() as $name => $h) {
            $rc = $ffi->spikard_app_handle_queued($this->app, $name, $tag);
            if ($rc === SpikardException::ECONFIG && $h['kind'] === 'raw') {
                continue; // a handler the document does not use
            }
            if ($rc < 0) {
                $e = Native::error($rc, "binding handler $name");
                $this->free();
                throw $e;
            }
            $this->eager[$tag] = false;
            $this->byTag[$tag++] = $h + ['name' => $name];
        }
        if ($this->app_->hasHooks() && !$this->canContinue) {
            $this->log('spikard: warning: this libspikard cannot let a lifecycle hook continue (no spikard_continue in spikard.h): '
                . 'a hook that returns null or Next fails its request with a 500');
        }
        $p = $ffi->new('uint16_t');
        $rc = $ffi->spikard_app_listen($this->app, $host, $port, FFI::addr($p));
        if ($rc < 0) {
            $e = Native::error($rc, "listening on $host:$port");
            $this->free();
            throw $e;
        }
        $this->port = $p->cdata;
    }

    /** The port the server listens on (the one chosen when listen asked for 0). */
    public function port(): int
    {
        return $this->port;
    }

    /** How many requests this server answered. */
    public function served(): int
    {
        return $this->served;
    }

    /**
     * Stops on SIGTERM and SIGINT (needs ext-pcntl; without it the process
     * ends as PHP's default says). The handlers set a flag: serve() sees it
     * within 200 ms, answers what it took, and shuts down.
     */
    public function stopOnSignals(): void
    {
        if (!\function_exists('pcntl_signal')) {
            return;
        }
        pcntl_async_signals(true);
        $stop = function (): void {
            $this->stopping = true;
        };
        pcntl_signal(\SIGTERM, $stop);
        pcntl_signal(\SIGINT, $stop);
    }

    /** Asks serve() to stop (from a signal handler or a handler). */
    public function stop(): void
    {
        $this->stopping = true;
    }

    /**
     * Answers requests until stop() (or a signal, see stopOnSignals), or
     * until $maxRequests were answered (0: no limit), then stops gracefully:
     * what is already queued is answered, the listener closes, and requests
     * that arrive meanwhile get the core's 503.
     */
    public function serve(int $maxRequests = 0): void
    {
        if ($this->serving || $this->closed) {
            throw new SpikardException('Spikard: serve() runs once per Server', SpikardException::ESTATE);
        }
        $this->serving = true;
        register_shutdown_function(function (): void {
            if ($this->serving) {
                $this->died();
            }
        });
        $ffi = $this->ffi;
        $app = $this->app;
        $buf = $this->buffer();
        $n = $ffi->new('size_t');
        $np = FFI::addr($n);
        while (!$this->stopping) {
            $rc = $this->producers === []
                ? $ffi->spikard_next($app, 200, $buf, self::BATCH, $np)
                : $ffi->spikard_try_next($app, $buf, self::BATCH, $np);
            if ($rc === 0) {
                $this->runBatch($n->cdata);
                if ($this->producers !== []) {
                    $this->advance();
                }
                if ($maxRequests > 0 && $this->served >= $maxRequests) {
                    break;
                }
            } elseif ($rc === SpikardException::ECLOSED) {
                break;
            } elseif ($rc !== SpikardException::ETIMEOUT) {
                $this->serving = false;
                throw Native::error($rc, 'spikard_next');
            }
        }
        $this->drain($buf, $np, $n);
        $this->serving = false;
        $this->close();
    }

    /**
     * Answers the requests queued now, waiting up to $timeoutMs for the
     * first one (0: not at all): for programs that have other work in the
     * same thread (an event loop, a test). Returns how many were answered,
     * or -1 when the app was shut down.
     */
    public function poll(int $timeoutMs = 0): int
    {
        if ($this->app === 0) {
            return -1;
        }
        $ffi = $this->ffi;
        $buf = $this->buffer();
        $n = $ffi->new('size_t');
        $rc = $timeoutMs > 0 && $this->producers === []
            ? $ffi->spikard_next($this->app, $timeoutMs, $buf, self::BATCH, FFI::addr($n))
            : $ffi->spikard_try_next($this->app, $buf, self::BATCH, FFI::addr($n));
        if ($rc === SpikardException::ETIMEOUT) {
            return 0;
        }
        if ($rc === SpikardException::ECLOSED) {
            return -1;
        }
        Native::check($rc, 'spikard_next');
        $cnt = $n->cdata;
        $this->runBatch($cnt);
        if ($this->producers !== []) {
            $this->advance();
        }
        return $cnt;
    }

    /** How many streams this worker is producing now. */
    public function activeStreams(): int
    {
        return \count($this->producers);
    }

    /** Advances every active stream by one chunk (or event). */
    private function advance(): void
    {
        $ffi = $this->ffi;
        foreach ($this->producers as $k => $p) {
            if (!$p->step($ffi)) {
                unset($this->producers[$k]);
            }
        }
    }

    /** Answers request $id with the stream, produced from now on by advance(). */
    private function begin(int $id, StreamedResponse $s, \Iterator $it, string $name): void
    {
        $ffi = $this->ffi;
        $out = $this->streamOut ??= $ffi->new('uint64_t');
        $hb = $s->headerBlock();
        $rc = $ffi->spikard_stream_begin($id, $s->status, $hb, \strlen($hb), FFI::addr($out));
        if ($rc === 0) {
            $this->producers[] = new Producer($it, $out->cdata, $s->isEventStream(), $name, $this->log(...));
        } elseif ($rc === SpikardException::EINVAL) {
            $msg = Native::str($ffi->spikard_last_error());
            $this->log("spikard: handler $name gave a stream the library refuses: $msg");
            $ffi->spikard_respond_error($id, "invalid stream: $msg");
        }
    }

    /** The batch buffer, and views of its slots made once (not one CData per request). */
    private function buffer(): CData
    {
        if ($this->batch === null) {
            $this->batch = $this->ffi->new('spikard_request[' . self::BATCH . ']');
            for ($i = 0; $i < self::BATCH; $i++) {
                $this->views[$i] = $this->batch[$i];
            }
        }
        return $this->batch;
    }

    /** Answers the first $cnt requests of the batch buffer. */
    private function runBatch(int $cnt): void
    {
        $views = $this->views;
        $this->batchEnd = $cnt;
        for ($i = 0; $i < $cnt; $i++) {
            $this->batchAt = $i;
            $this->dispatch($views[$i]);
        }
        $this->batchEnd = 0;
        $this->served += $cnt;
    }

    /**
     * Shuts the app down and frees it (serve() does it when it stops).
     * Requests still queued get the core's 503.
     */
    public function close(int $graceMs = 0): void
    {
        if ($this->closed || $this->app === 0) {
            return;
        }
        $this->closed = true;
        $this->ffi->spikard_app_shutdown($this->app, $graceMs);
        foreach ($this->producers as $p) {
            $p->cancel($this->ffi);
        }
        $this->producers = [];
        $this->free();
    }

    private function free(): void
    {
        if ($this->app !== 0) {
            $this->ffi->spikard_app_free($this->app);
            $this->app = 0;
        }
    }

    /** Answers what is already queued, without waiting. */
    private function drain(CData $buf, CData $np, CData $n): void
    {
        while (true) {
            $rc = $this->ffi->spikard_try_next($this->app, $buf, self::BATCH, $np);
            $cnt = $rc === 0 ? $n->cdata : 0;
            if ($cnt === 0) {
                return;
            }
            $this->runBatch($cnt);
        }
    }

    /** The header block of a handler's array answer. */
    private const JSON_HEADER = "Content-Type: application/json\n";

    private function dispatch(CData $r): void
    {
        $id = $r->id;
        $tag = $r->tag;
        $h = $this->byTag[$tag];
        $eager = $this->eager[$tag];
        $req = null;
        $error = null;     // the handler failed: spikard_respond_error with this message
        $changes = null;   // a hook goes on: spikard_continue with these changes (JSON, '' for none)
        $status = 200;
        $hb = self::JSON_HEADER;
        $body = '';
        $stream = null;    // the answer is a stream of these chunks or events
        try {
            if ($eager) {
                $json = FFI::string($r->values, $r->values_len);
                $req = new Request($r, $json === '{}' ? [] : json_decode($json, true, 512, \JSON_THROW_ON_ERROR | \JSON_BIGINT_AS_STRING), $json);
            } else {
                $req = Request::lazy($r);
            }
            $out = ($h['fn'])($req);
            if (\is_array($out)) {
                $body = json_encode($out, Response::JSON_FLAGS);
            } elseif ($out instanceof Next || $h['kind'] === 'task' || ($out === null && ($h['kind'] === 'hook' || ($req->call['kind'] ?? '') === 'hook' || ($req->call['kind'] ?? '') === 'task'))) {
                if ($this->canContinue) {
                    $changes = !$out instanceof Next || $out->jsonSerialize() === [] ? '' : json_encode($out, Response::JSON_FLAGS);
                } else {
                    $error = 'a lifecycle hook cannot continue: this libspikard has no spikard_continue';
                    $this->log("spikard: {$error} (request id {$req->requestId()})");
                }
            } else {
                if ($out === null && ($req->call['kind'] ?? '') === 'cleanup') {
                    $out = new Response(204);
                }
                if ($out instanceof Response) {
                    [$status, $hb, $body] = [$out->status, $out->headerBlock(), $out->body];
                } elseif ($out instanceof StreamedResponse || $out instanceof \Generator) {
                    $stream = $out instanceof StreamedResponse ? $out : (isset($h['sse']) ? new EventStream($out) : new StreamedResponse($out));
                    $chunks = $stream->iterator();
                    $chunks->valid(); // a generator runs up to its first yield: what it throws is the handler's failure
                } else {
                    $resp = Response::from($out);
                    [$status, $hb, $body] = [$resp->status, $resp->headerBlock(), $resp->body];
                }
            }
        } catch (HttpException $e) {
            $stream = null;
            $resp = $e->toResponse();
            [$status, $hb, $body] = [$resp->status, $resp->headerBlock(), $resp->body];
        } catch (\Throwable $e) {
            $stream = null;
            $rid = $req?->requestId() ?? '';
            $this->log(sprintf("spikard: handler %s failed (request id %s): %s: %s\n%s", $h['name'], $rid, $e::class, $e->getMessage(), $e->getTraceAsString()));
            $error = $e::class . ': ' . $e->getMessage();
        }
        $deferred = [];
        if ($req !== null) {
            if (!$eager && $req->decoded()) {
                $this->eager[$tag] = true; // this handler reads its values: decode them at once from now on
            }
            $deferred = $req->close(); // before answering: the request's memory is the library's once answered
        }
        $ffi = $this->ffi;
        if ($error !== null) {
            $ffi->spikard_respond_error($id, $error);
        } elseif ($stream !== null) {
            $this->begin($id, $stream, $chunks, $h['name']);
        } else {
            $rc = $changes !== null
                ? $ffi->spikard_continue($id, $changes, \strlen($changes))
                : $ffi->spikard_respond($id, $status, $hb, \strlen($hb), $body, \strlen($body));
            if ($rc === SpikardException::EINVAL) {
                $msg = Native::str($ffi->spikard_last_error());
                $this->log("spikard: handler {$h['name']} gave an answer the library refuses: $msg");
                $ffi->spikard_respond_error($id, "invalid answer: $msg");
            }
        }
        foreach ($deferred as $task) {
            try {
                $task();
            } catch (\Throwable $e) {
                $this->log(sprintf("spikard: deferred task of %s failed: %s: %s\n%s", $h['name'], $e::class, $e->getMessage(), $e->getTraceAsString()));
            }
        }
    }

    /**
     * The process is ending in the middle of serve() (a fatal error, exit()
     * in a handler): the request being handled gets a 500, the rest of its
     * batch and the queue a 503, and the listener closes.
     */
    private function died(): void
    {
        $this->serving = false;
        $err = error_get_last();
        $why = $err !== null ? "{$err['message']} in {$err['file']}:{$err['line']}" : 'the handler ended the process';
        $this->log("spikard: worker ending while serving: $why");
        if ($this->batchEnd > 0 && $this->batch !== null) {
            $this->ffi->spikard_respond_error($this->batch[$this->batchAt]->id, "worker died: $why");
            $busy = 'Content-Type: application/problem+json' . "\nRetry-After: 1\n";
            $doc = '{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"The worker stopped before it handled the request"}';
            for ($i = $this->batchAt + 1; $i < $this->batchEnd; $i++) {
                $this->ffi->spikard_respond($this->batch[$i]->id, 503, $busy, \strlen($busy), $doc, \strlen($doc));
            }
        }
        $this->close(200);
    }

    private function log(string $line): void
    {
        if ($this->logger !== null) {
            ($this->logger)($line);
            return;
        }
        fwrite(\STDERR, $line . "\n");
    }
}
