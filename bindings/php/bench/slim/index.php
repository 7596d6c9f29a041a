<?php

declare(strict_types=1);

// The same three endpoints with Slim 3 (Debian's php-slim 3.12) behind
// nginx + php-fpm. Slim 3 has no schema validation: the body is checked by
// hand as in fpm/index.php.

require '/usr/share/php/Slim/autoload.php';

use Psr\Http\Message\ResponseInterface as Res;
use Psr\Http\Message\ServerRequestInterface as Req;

$app = new Slim\App();
$app->get('/json', fn (Req $q, Res $s) => $s->withJson(['message' => 'Hello, World!']));
$app->get('/users/{id:-?[0-9]+}', fn (Req $q, Res $s, array $a) => $s->withJson(['id' => (int) $a['id']]));
$app->post('/items', function (Req $q, Res $s) {
    $b = json_decode((string) $q->getBody(), true);
    $ok = is_array($b) && isset($b['name'], $b['price'], $b['tags']) && is_string($b['name']) && $b['name'] !== ''
        && mb_strlen($b['name']) <= 100 && (is_int($b['price']) || is_float($b['price'])) && $b['price'] >= 0
        && is_array($b['tags']) && array_is_list($b['tags']) && count(array_filter($b['tags'], 'is_string')) === count($b['tags']);
    if (!$ok) {
        return $s->withJson(['type' => 'about:blank', 'title' => 'Unprocessable Content', 'status' => 422], 422);
    }
    return $s->withJson(['name' => $b['name'], 'price' => $b['price'], 'tags' => $b['tags']]);
});
$app->run();
