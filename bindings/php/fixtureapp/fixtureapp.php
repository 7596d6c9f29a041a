<?php

declare(strict_types=1);

/*
 * The PHP binding's conformance fixture app (cmd/conformance/PROTOCOL.md):
 * reads scenario apps from stdin, one JSON line each, serves them with the
 * public API (App::fromDocument + App::handle) on 127.0.0.1 and answers on
 * stdout.
 *
 *   in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
 *   out: {"port": N}            or {"error": "..."}
 *   in:  {"stop": true}
 *   out: {"stopped": true}
 *
 * PHP has one thread: between protocol lines the app is served by polling
 * its queue (Server::poll) and stdin in turn. Logs go to stderr.
 */

require dirname(__DIR__) . '/src/autoload.php';

// --lib PATH: the libspikard to load (else as Spikard\Internal\Native finds it).
$i = array_search('--lib', $argv, true);
if ($i !== false && isset($argv[$i + 1])) {
    putenv('SPIKARD_LIBRARY=' . $argv[$i + 1]);
}

use Spikard\App;
use Spikard\Event;
use Spikard\EventStream;
use Spikard\InvalidEventException;
use Spikard\Next;
use Spikard\Request;
use Spikard\Response;
use Spikard\Server;
use Spikard\StreamedResponse;
use Spikard\WebSocket;

final class Raised extends RuntimeException
{
}

/** Named lists of the running app (background work, cleanups, resolution order). */
final class States
{
    /** @var array<string, list<mixed>> */
    public array $lists = [];

    public function add(string $name, mixed $v): void
    {
        $this->lists[$name][] = $v;
    }
}

/** Resolves a JSON pointer (RFC 6901) in a decoded document (objects as stdClass). */
function pointer(mixed $doc, string $p, ?bool &$ok = null): mixed
{
    $ok = true;
    if ($p === '') {
        return $doc;
    }
    if ($p[0] !== '/') {
        $ok = false;
        return null;
    }
    $cur = $doc;
    foreach (explode('/', substr($p, 1)) as $tok) {
        $tok = str_replace(['~1', '~0'], ['/', '~'], $tok);
        if ($cur instanceof stdClass && property_exists($cur, $tok)) {
            $cur = $cur->{$tok};
        } elseif (is_array($cur) && ctype_digit($tok) && array_key_exists((int) $tok, $cur)) {
            $cur = $cur[(int) $tok];
        } else {
            $ok = false;
            return null;
        }
    }
    return $cur;
}

function uuid4(): string
{
    $b = random_bytes(16);
    $b[6] = chr(ord($b[6]) & 0x0f | 0x40);
    $b[8] = chr(ord($b[8]) & 0x3f | 0x80);
    $h = bin2hex($b);
    return sprintf('%s-%s-%s-%s-%s', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4), substr($h, 16, 4), substr($h, 20));
}

const FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;

/** The handler a spec describes (PROTOCOL.md, "Handler spec"). */
function handler(stdClass $s, States $st): Closure
{
    return static function (Request $r) use ($s, $st) {
        if (($s->sleep_ms ?? 0) > 0) {
            usleep($s->sleep_ms * 1000);
        }
        $call = $r->call;
        if (($call['kind'] ?? '') === 'cleanup') {
            foreach ($s->cleanup_record ?? [] as $rec) {
                $st->add($rec->state, $rec->value ?? null);
            }
            return new Response(204);
        }
        $values = null;
        if (isset($s->require) || isset($s->fill) || isset($s->headers_from) || isset($s->background)) {
            $values = json_decode($r->valuesJson(), false);
        }
        foreach ($s->require ?? [] as $p) {
            pointer($values, $p, $ok);
            if (!$ok) {
                throw new RuntimeException("fixtureapp: required $p is not in the values document {$r->valuesJson()}");
            }
        }
        foreach ($s->record ?? [] as $rec) {
            $st->add($rec->state, property_exists($rec, 'value') ? $rec->value : ($call['name'] ?? $r->handlerName()));
        }
        if ($s->raise ?? false) {
            throw new Raised('fixtureapp: the handler raised, as the scenario asks');
        }
        $headers = [];
        foreach ((array) ($s->headers ?? []) as $k => $v) {
            $headers[$k] = $v;
        }
        foreach ((array) ($s->headers_from ?? []) as $k => $p) {
            $v = pointer($values, $p, $ok);
            if (!$ok) {
                throw new RuntimeException("fixtureapp: headers_from $k: no $p in the values document");
            }
            $headers[$k] = is_string($v) ? $v : json_encode($v, FLAGS);
        }
        if (isset($s->background)) {
            $v = pointer($values, $s->background->from, $ok);
            if (!$ok) {
                throw new RuntimeException("fixtureapp: background: no {$s->background->from} in the values document");
            }
            $r->background('fixture', ['state' => $s->background->state, 'value' => $v]);
        }
        if ($s->continue ?? false) {
            return new Next(headers: $headers);
        }
        $status = ($s->status ?? 0) ?: 200;
        foreach ($s->set_cookies ?? [] as $c) {
            $headers['Set-Cookie'][] = $c;
        }
        $ct = $s->content_type ?? '';
        if (isset($s->stream)) {
            return new StreamedResponse(chunks($s->stream), $status, $headers, $ct !== '' ? $ct : null);
        }
        if (isset($s->sse)) {
            return new EventStream(events($s->sse, $s->sse->resume ?? false ? $r->lastEventId() : null), $status, $headers);
        }
        if (isset($s->state) && $s->state !== '') {
            return Response::json([$s->state => $st->lists[$s->state] ?? []], $status, $headers);
        }
        if (($s->generate ?? '') === 'uuid') {
            return Response::json(uuid4(), $status, $headers);
        }
        if (($s->generate ?? '') !== '') {
            throw new RuntimeException("fixtureapp: unknown generate {$s->generate}");
        }
        if ($s->echo ?? false) {
            return new Response($status, $headers + ['Content-Type' => 'application/json'], $r->valuesJson());
        }
        if (isset($s->body_raw)) {
            return new Response($status, $ct !== '' ? $headers + ['Content-Type' => $ct] : $headers, $s->body_raw);
        }
        if (property_exists($s, 'body') && $s->body !== null) {
            $body = $s->body;
            foreach ((array) ($s->fill ?? []) as $target => $source) {
                $v = pointer($values, $source, $ok);
                if (!$ok) {
                    throw new RuntimeException("fixtureapp: fill $target: no $source in the values document");
                }
                if ($target === '') {
                    $body = $v;
                    continue;
                }
                $i = strrpos($target, '/');
                $parent = pointer($body, substr($target, 0, $i), $ok);
                if (!$ok || !$parent instanceof stdClass) {
                    throw new RuntimeException("fixtureapp: fill $target: the body has no object there");
                }
                $parent->{str_replace(['~1', '~0'], ['/', '~'], substr($target, $i + 1))} = $v;
            }
            return new Response($status, $headers + ['Content-Type' => $ct !== '' ? $ct : 'application/json'], json_encode($body, FLAGS | JSON_THROW_ON_ERROR));
        }
        return new Response($status, $ct !== '' ? $headers + ['Content-Type' => $ct] : $headers);
    };
}

/** The chunks of a "stream" member, each after delay_ms. */
function chunks(stdClass $spec): Generator
{
    foreach ($spec->chunks ?? [] as $b64) {
        if (($spec->delay_ms ?? 0) > 0) {
            usleep($spec->delay_ms * 1000);
        }
        yield base64_decode($b64, true);
    }
}

/**
 * The events of an "sse" member, each after delay_ms; one the route's event
 * schema rejects is skipped. With a numeric $lastEventId (resume), events
 * whose numeric id is not above it are skipped.
 */
function events(stdClass $spec, ?string $lastEventId): Generator
{
    $last = $lastEventId !== null && preg_match('/^[+-]?\d+$/', $lastEventId) ? (int) $lastEventId : null;
    foreach ($spec->events ?? [] as $e) {
        $id = (string) ($e->id ?? '');
        if ($last !== null && preg_match('/^[+-]?\d+$/', $id) && (int) $id <= $last) {
            continue;
        }
        if (($spec->delay_ms ?? 0) > 0) {
            usleep($spec->delay_ms * 1000);
        }
        try {
            yield new Event(
                data: ($e->data ?? '') !== '' ? $e->data : null,
                event: ($e->event ?? '') !== '' ? $e->event : null,
                id: $id !== '' ? $id : null,
                retry: ($e->retry_ms ?? 0) > 0 ? $e->retry_ms : null,
                comment: ($e->comment ?? '') !== '' ? $e->comment : null,
            );
        } catch (InvalidEventException) {
            // the core kept it off the stream: skip it
        }
    }
}

/**
 * A "websocket" member: greet on connect, close when close_on.text comes,
 * else echo (text as text, binary as binary).
 */
function webSocket(App $app, string $name, stdClass $spec): void
{
    $app->handleWebSocket(
        $name,
        onOpen: static function (WebSocket $ws) use ($spec): void {
            if (property_exists($spec, 'greeting')) {
                $ws->sendJson($spec->greeting);
            }
        },
        onMessage: static function (WebSocket $ws, string $msg, bool $binary) use ($spec): void {
            $on = $spec->close_on ?? null;
            if ($on !== null && !$binary && $msg === ($on->text ?? '')) {
                $ws->close($on->code ?? 1000, $on->reason ?? '');
            } elseif ($spec->echo ?? false) {
                $binary ? $ws->sendBinary($msg) : $ws->sendText($msg);
            }
        },
    );
}

/** The raw text of a top-level member of a JSON object (so numbers keep their spelling). */
function rawMember(string $json, string $key): ?string
{
    $n = strlen($json);
    $i = strpos($json, '{');
    if ($i === false) {
        return null;
    }
    $i++;
    $depth = 0;
    $start = null;
    $want = false;
    $expectKey = true;
    for (; $i < $n; $i++) {
        $c = $json[$i];
        if ($c === '"') {
            $j = $i + 1;
            while ($j < $n && $json[$j] !== '"') {
                $j += $json[$j] === '\\' ? 2 : 1;
            }
            if ($depth === 0 && $expectKey) {
                $want = json_decode(substr($json, $i, $j - $i + 1)) === $key;
            }
            $i = $j;
            continue;
        }
        if ($depth === 0 && $c === ':') {
            $expectKey = false;
            if ($want) {
                $start = $i + 1;
            }
            continue;
        }
        if ($c === '{' || $c === '[') {
            $depth++;
        } elseif ($c === '}' || $c === ']') {
            if ($depth === 0) {
                return $start !== null ? trim(substr($json, $start, $i - $start)) : null;
            }
            $depth--;
        } elseif ($c === ',' && $depth === 0) {
            if ($start !== null) {
                return trim(substr($json, $start, $i - $start));
            }
            $expectKey = true;
        }
    }
    return null;
}

function reply(array $v): void
{
    fwrite(STDOUT, json_encode($v, FLAGS) . "\n");
    fflush(STDOUT);
}

/** @var Server|null $cur */
$cur = null;
$stop = static function () use (&$cur): void {
    if ($cur === null) {
        return;
    }
    while ($cur->poll(0) > 0) {
    }
    $cur->close();
    $cur = null;
};

stream_set_blocking(STDIN, false);
$pending = '';
while (true) {
    if ($cur !== null) {
        $cur->poll(5);
    }
    $r = [STDIN];
    $w = $e = null;
    $ready = @stream_select($r, $w, $e, 0, $cur === null ? 200000 : 0);
    if ($ready === false || $ready === 0) {
        continue;
    }
    $chunk = fread(STDIN, 1 << 20);
    if ($chunk === '' || $chunk === false) {
        if (feof(STDIN)) {
            $stop();
            exit(0);
        }
        continue;
    }
    $pending .= $chunk;
    while (($nl = strpos($pending, "\n")) !== false) {
        $line = substr($pending, 0, $nl);
        $pending = substr($pending, $nl + 1);
        if (trim($line) === '') {
            continue;
        }
        $msg = json_decode($line, false);
        if (!$msg instanceof stdClass) {
            reply(['error' => 'bad protocol line: ' . json_last_error_msg()]);
        } elseif (($msg->stop ?? false) === true) {
            $stop();
            reply(['stopped' => true]);
        } elseif (isset($msg->app)) {
            $stop();
            try {
                $app = App::fromDocument(rawMember($line, 'app') ?? json_encode($msg->app, FLAGS));
                $st = new States();
                $app->task('fixture', static function ($payload, Request $r) use ($st) {
                    $p = json_decode($r->valuesJson(), false)->call->payload; // objects stay objects
                    $st->add($p->state, $p->value);
                });
                foreach ((array) ($msg->handlers ?? []) as $name => $spec) {
                    if (isset($spec->websocket)) {
                        webSocket($app, (string) $name, $spec->websocket);
                        continue;
                    }
                    $app->handle((string) $name, handler($spec, $st));
                }
                $cur = $app->listen('127.0.0.1', 0);
                reply(['port' => $cur->port()]);
            } catch (Throwable $ex) {
                $cur = null;
                reply(['error' => $ex->getMessage()]);
            }
        } else {
            reply(['error' => 'unknown message: want {"app":...} or {"stop":true}']);
        }
    }
}
