<?php

declare(strict_types=1);

// The benchmark endpoints, served by Spikard (bench/run.sh).

use Spikard\App;
use Spikard\Request;

$app = new App();
$app->get('/json', fn () => ['message' => 'Hello, World!']);
$app->get('/users/{id:int}', fn (Request $r) => ['id' => $r->path['id']]);
$app->post('/items', fn (Request $r) => ['name' => $r->body['name'], 'price' => $r->body['price'], 'tags' => $r->body['tags']], body: [
    'type' => 'object',
    'properties' => [
        'name' => ['type' => 'string', 'minLength' => 1, 'maxLength' => 100],
        'price' => ['type' => 'number', 'minimum' => 0],
        'tags' => ['type' => 'array', 'items' => ['type' => 'string']],
    ],
    'required' => ['name', 'price', 'tags'],
]);
return $app;
