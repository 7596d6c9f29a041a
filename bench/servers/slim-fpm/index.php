<?php

declare(strict_types=1);

// The benchmark routes as a Slim 3 app (Debian's php-slim 3.12) behind
// nginx + php-fpm: Slim's routing, route arguments, PSR-7 request and
// withJson answers; the validated variants (under /v) checked by hand to
// the constraints of the workload table (../php-common/checks.php, shared
// with php-fpm), as Slim has no schema validation of its own.

require '/usr/share/php/Slim/autoload.php';

use Psr\Http\Message\ServerRequestInterface as Req;
use Slim\Http\Response as Res;

const FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;

$fields = (static fn () => require __DIR__ . '/../php-common/checks.php')();

// Production settings: FastRoute's dispatch data cached in a file (the harness's scratch
// directory of this start, BENCH_TMP) instead of compiled on every request.
$cache = (getenv('BENCH_TMP') ?: sys_get_temp_dir()) . '/slim-routes-' . md5(__FILE__ . filemtime(__FILE__)) . '.php';
$app = new Slim\App(['settings' => ['displayErrorDetails' => false, 'routerCacheFile' => $cache]]);
$app->getContainer()['notFoundHandler'] = fn () => fn (Req $q, Res $s) => $s->withJson(['detail' => 'not found'], 404);

/** 200 with the converted fields, or 422 when one fails. */
function typed(Res $s, ?array $v): Res
{
    return $v === null ? $s->withJson(['detail' => 'invalid input'], 422) : $s->withJson($v, 200, FLAGS);
}

$paths = ['path-simple' => '/path/simple/{name}', 'path-int' => '/path/int/{id}', 'path-uuid' => '/path/uuid/{id}',
    'path-date' => '/path/date/{date}', 'path-deep' => '/path/deep/{a}/{b}/{c}/{d}/{e}',
    'path-multiple' => '/path/multiple/{user_id}/{post_id}/{slug}'];
foreach (['' => false, '/v' => true] as $prefix => $validated) {
    $app->post("$prefix/json", function (Req $q, Res $s) use ($validated) {
        $doc = $q->getParsedBody(); // Slim's JSON body parser: null when malformed
        if (!is_array($doc)) {
            return $s->withJson(['detail' => 'invalid JSON'], 400);
        }
        return $validated && !orderOk($doc) ? typed($s, null) : $s->withJson($doc, 200, FLAGS);
    });
    $app->post("$prefix/multipart", function (Req $q, Res $s) use ($validated) {
        $file = $q->getUploadedFiles()['file'] ?? null;
        $ok = $file !== null && $file->getError() === UPLOAD_ERR_OK;
        return typed($s, uploadAnswer($q->getParsedBody()['title'] ?? null, $ok ? $file->getClientFilename() : null,
            $ok ? $file->getClientMediaType() : null, $ok ? $file->getSize() : null, $validated));
    });
    foreach ($paths as $id => $pattern) {
        $app->get($prefix . $pattern, fn (Req $q, Res $s, array $args) => typed($s,
            convert($fields[$id], array_map(fn ($v) => [$v], $args), $validated)));
    }
    foreach (['few', 'medium', 'many'] as $size) {
        $app->get("$prefix/query/$size", fn (Req $q, Res $s) => typed($s,
            convert($fields["query-$size"], pairs($q->getUri()->getQuery()), $validated)));
    }
    foreach (['simple', 'complex'] as $kind) {
        $app->post("$prefix/urlencoded/$kind", function (Req $q, Res $s) use ($fields, $kind, $validated) {
            if ($q->getMediaType() !== 'application/x-www-form-urlencoded') {
                return $s->withJson(['detail' => 'unsupported media type'], 415);
            }
            // The raw body: repeated keys are kept (PHP's parser keeps the last).
            return typed($s, convert($fields["urlencoded-$kind"], pairs((string) $q->getBody()), $validated));
        });
    }
}
$app->run();
