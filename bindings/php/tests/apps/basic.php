<?php

declare(strict_types=1);

require_once __DIR__ . '/dtos.php';

use Spikard\App;
use Spikard\HttpException;
use Spikard\Request;
use Spikard\Response;
use Spikard\Tests\Apps\UserDto;

$app = new App();
$app->get('/json', fn () => ['message' => 'Hello, World!']);
$app->get('/users/{id:int}', fn (Request $r) => ['id' => $r->path['id'], 'page' => $r->query['page']],
    query: ['page' => ['type' => 'integer', 'default' => 1]]);
$app->get('/items/{slug}', fn (string $slug, Request $r) => ['slug' => $slug, 'method' => $r->method(), 'path' => $r->uriPath(), 'qs' => $r->queryString()]);
$app->post('/users', fn (UserDto $user) => Response::json($user, 201));
$app->post('/schema', fn (Request $r) => ['got' => $r->body],
    body: ['type' => 'object', 'properties' => ['n' => ['type' => 'integer', 'maximum' => 10]], 'required' => ['n']]);
$app->get('/text', fn () => 'plain text');
$app->get('/empty', fn () => null);
$app->get('/custom', fn () => (new Response(202, ['X-Custom' => 'yes'], 'accepted'))
    ->withCookie('session', 'abc', ['max_age' => 60, 'same_site' => 'Lax']));
$app->get('/object', fn () => new \ArrayObject(['a' => 1]));
$app->get('/missing/{id:int}', function (int $id) {
    throw new HttpException(404, "no record $id", ['id' => $id]);
});
$app->get('/boom', function () {
    throw new \DomainException('the handler failed on purpose');
});
$app->get('/type-error', fn () => strlen());
$app->get('/headers', fn (Request $r) => ['ua' => $r->header('User-Agent'), 'rid' => $r->requestId(), 'token' => $r->headers['x-token']],
    headers: ['x-token' => ['type' => 'string', 'minLength' => 3]]);
$app->get('/bad-answer', fn () => new Response(99));
$app->post('/raw', fn (Request $r) => ['len' => strlen($r->rawBody()), 'body' => $r->rawBody()]);
$app->get('/typed', fn (Request $r) => $r->query,
    query: ['n' => ['type' => 'integer'], 'f' => ['type' => 'number', 'optional' => true], 'b' => ['type' => 'boolean', 'optional' => true]]);
// Values are decoded when first read: a handler that reads them only sometimes, work deferred
// past the answer that reads them, and a Request kept past its handler.
$app->post('/sometimes/{id:int}', fn (Request $r) => str_contains($r->queryString(), 'read')
    ? ['id' => $r->path['id'], 'body' => $r->body, 'q' => $r->query]
    : new Response(200, ['Content-Type' => 'application/json'], $r->rawBody()),
    query: ['read' => ['type' => 'boolean', 'default' => false]]);
$seen = new \ArrayObject();
$app->get('/deferred/{id:int}', function (Request $r) use ($seen) {
    $r->defer(fn () => $seen['deferred'] = $r->path['id']);
    return ['queued' => true];
});
$app->get('/kept/{id:int}', function (Request $r) use ($seen) {
    $seen['kept'] = $r;
    return ['kept' => true];
});
$app->get('/seen', function () use ($seen) {
    $kept = $seen['kept'] ?? null;
    try {
        $late = $kept?->path;
    } catch (\LogicException $e) {
        $late = $e->getMessage();
    }
    return ['deferred' => $seen['deferred'] ?? null, 'late' => $late];
});

return $app;
