<?php

declare(strict_types=1);

use Spikard\App;
use Spikard\Next;
use Spikard\Request;
use Spikard\Response;

$events = [];
$counter = 0;

// A short handler timeout: at shutdown the core invokes the singleton's cleanup through the
// queue while the worker's only thread waits in spikard_app_shutdown (see README, limits).
$app = new App(server: ['handler_timeout_ms' => 2000]);
$app->value('config', ['greeting' => 'hello']);
$app->factory('requestNo', function () use (&$counter) {
    return ++$counter;
});
$app->factory('greeter', fn (array $config, int $requestNo) => ['text' => $config['greeting'], 'n' => $requestNo],
    dependsOn: ['config', 'requestNo']);
$app->factory('pool', fn () => ['pool' => 'p-' . getmypid()], singleton: true,
    cleanup: function ($value) use (&$events) {
        $events[] = 'cleanup';
    });
$app->factory('tx', fn () => ['tx' => 1], cleanup: function ($value) use (&$events) {
    $events[] = 'tx-cleanup:' . json_encode($value);
});

$app->onRequest(function (Request $r) {
    if ($r->header('X-Block') !== null) {
        return Response::json(['blocked' => true], 403);
    }
    return null;
}, name: 'blocker');
$app->preHandler(fn (Request $r) => new Next(state: ['user' => ['id' => 7]], headers: ['X-Hooked' => 'pre']), name: 'auth');
$app->onResponse(fn (Request $r) => new Next(headers: ['X-Status-Seen' => (string) ($r->call['response']['status'] ?? 0)]), name: 'stamp');
$app->onError(fn (Request $r) => Response::json(['replaced' => true, 'was' => $r->call['response']['status'] ?? null], 503), name: 'replace');

$app->get('/greet', fn (Request $r, array $greeter) => ['greeter' => $greeter, 'user' => $r->state['user'] ?? null], deps: ['greeter']);
$app->get('/pool', fn (array $pool, array $tx) => ['pool' => $pool, 'tx' => $tx], deps: ['pool', 'tx']);
$app->get('/fail', function () {
    throw new RuntimeException('fails');
});
$app->post('/later', function (Request $r) use (&$events) {
    $v = $r->body['v'];
    $r->defer(function () use (&$events, $v) {
        $events[] = "deferred:$v";
    });
    return Response::json(['queued' => true], 202);
}, body: ['type' => 'object', 'properties' => ['v' => ['type' => 'string']], 'required' => ['v']]);
$app->task('audit', function ($payload, Request $r) use (&$events) {
    $events[] = 'task:' . $payload['what'] . ':' . ($r->call['kind'] ?? '');
});
$app->post('/audited', function (Request $r) {
    $r->background('audit', ['what' => $r->body['what']]);
    return Response::json(['accepted' => true], 202);
}, body: ['type' => 'object', 'properties' => ['what' => ['type' => 'string']], 'required' => ['what']]);
$app->get('/events', function () use (&$events) {
    return ['events' => $events];
});

return $app;
