<?php

declare(strict_types=1);

// The benchmark routes as plain PHP behind nginx + php-fpm (no framework):
// routing by hand, parameters converted and the validated variants checked
// by hand (../php-common/checks.php), to the constraints of the workload table.

function answer(int $status, mixed $data): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
    exit;
}

function invalid(): void
{
    answer(422, ['detail' => 'invalid input']);
}

$fields = require __DIR__ . '/../php-common/checks.php';

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$validated = str_starts_with($path, '/v/');
if ($validated) {
    $path = substr($path, 2);
}
$method = $_SERVER['REQUEST_METHOD'];
$routes = ['path-simple' => '#^/path/simple/([^/]+)$#', 'path-int' => '#^/path/int/([^/]+)$#', 'path-uuid' => '#^/path/uuid/([^/]+)$#',
    'path-date' => '#^/path/date/([^/]+)$#', 'path-deep' => '#^/path/deep/([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)$#',
    'path-multiple' => '#^/path/multiple/([^/]+)/([^/]+)/([^/]+)$#'];
if ($method === 'GET') {
    $queries = ['/query/few' => 'query-few', '/query/medium' => 'query-medium', '/query/many' => 'query-many'];
    if (isset($queries[$path])) {
        $v = convert($fields[$queries[$path]], pairs($_SERVER['QUERY_STRING'] ?? ''), $validated);
        $v === null ? invalid() : answer(200, $v);
    }
    foreach ($routes as $id => $rx) {
        if (preg_match($rx, $path, $m) === 1) {
            $params = [];
            foreach ($fields[$id] as $i => [$name]) {
                $params[$name] = [rawurldecode($m[$i + 1])];
            }
            $v = convert($fields[$id], $params, $validated);
            $v === null ? invalid() : answer(200, $v);
        }
    }
} elseif ($method === 'POST') {
    $forms = ['/urlencoded/simple' => 'urlencoded-simple', '/urlencoded/complex' => 'urlencoded-complex'];
    if ($path === '/json') {
        $o = json_decode(file_get_contents('php://input'), true);
        if ($o === null && json_last_error() !== JSON_ERROR_NONE) {
            answer(400, ['detail' => 'invalid JSON']);
        }
        ($validated && !orderOk($o)) ? invalid() : answer(200, $o);
    } elseif ($path === '/multipart') {
        $file = $_FILES['file'] ?? null;
        $ok = is_array($file) && $file['error'] === UPLOAD_ERR_OK;
        $v = uploadAnswer($_POST['title'] ?? null, $ok ? $file['name'] : null, $ok ? $file['type'] : null, $ok ? $file['size'] : null, $validated);
        $v === null ? invalid() : answer(200, $v);
    } elseif (isset($forms[$path])) {
        if (!str_starts_with($_SERVER['CONTENT_TYPE'] ?? '', 'application/x-www-form-urlencoded')) {
            answer(415, ['detail' => 'unsupported media type']);
        }
        $v = convert($fields[$forms[$path]], pairs(file_get_contents('php://input')), $validated);
        $v === null ? invalid() : answer(200, $v);
    }
}
answer(404, ['detail' => 'not found']);
