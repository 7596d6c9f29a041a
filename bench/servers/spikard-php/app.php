<?php

declare(strict_types=1);

// The benchmark routes on the PHP binding (bindings/php): the workload
// table's core document (BENCH_DOC) served as it is, one handler per route
// kind answering from the request's validated values.

use Spikard\App;
use Spikard\Request;
use Spikard\Response;

$app = App::fromDocument(file_get_contents(getenv('BENCH_DOC')));
// The core has parsed (and on /v/json validated) the body.
$app->handle('echo', fn (Request $r) => new Response(200, ['Content-Type' => 'application/json'], $r->rawBody()));
$app->handle('path', fn (Request $r) => $r->path);
$app->handle('query', fn (Request $r) => $r->query);
$app->handle('form', fn (Request $r) => $r->body);
$app->handle('multipart', fn (Request $r) => [
    'title' => $r->body['title'], 'filename' => $r->body['file']['filename'], 'size' => $r->body['file']['size'],
]);
return $app;
