<?php

declare(strict_types=1);

// The same three endpoints as plain PHP behind nginx + php-fpm: routing,
// validation and error answers written by hand, as a PHP app without a
// framework would.

function answer(int $status, mixed $doc, string $type = 'application/json'): void
{
    http_response_code($status);
    header('Content-Type: ' . $type);
    echo json_encode($doc, JSON_UNESCAPED_SLASHES);
}

function problem(int $status, string $detail, array $errors = []): void
{
    answer($status, ['type' => 'about:blank', 'title' => $status === 404 ? 'Not Found' : 'Unprocessable Content',
        'status' => $status, 'detail' => $detail, 'errors' => $errors], 'application/problem+json');
}

$method = $_SERVER['REQUEST_METHOD'];
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);

if ($method === 'GET' && $path === '/json') {
    answer(200, ['message' => 'Hello, World!']);
} elseif ($method === 'GET' && preg_match('#^/users/([^/]+)$#', $path, $m)) {
    if (!preg_match('/^-?\d+$/', $m[1])) {
        problem(422, '1 validation error in request', [['type' => 'int_parsing', 'loc' => ['path', 'id']]]);
    } else {
        answer(200, ['id' => (int) $m[1]]);
    }
} elseif ($method === 'POST' && $path === '/items') {
    $b = json_decode((string) file_get_contents('php://input'), true);
    $errors = [];
    if (!is_array($b)) {
        $errors[] = ['type' => 'json_invalid', 'loc' => ['body']];
    } else {
        if (!isset($b['name']) || !is_string($b['name']) || $b['name'] === '' || mb_strlen($b['name']) > 100) {
            $errors[] = ['type' => 'string_type', 'loc' => ['body', 'name']];
        }
        if (!isset($b['price']) || !(is_int($b['price']) || is_float($b['price'])) || $b['price'] < 0) {
            $errors[] = ['type' => 'float_type', 'loc' => ['body', 'price']];
        }
        if (!isset($b['tags']) || !is_array($b['tags']) || !array_is_list($b['tags'])) {
            $errors[] = ['type' => 'list_type', 'loc' => ['body', 'tags']];
        } else {
            foreach ($b['tags'] as $i => $t) {
                if (!is_string($t)) {
                    $errors[] = ['type' => 'string_type', 'loc' => ['body', 'tags', $i]];
                }
            }
        }
    }
    if ($errors !== []) {
        problem(422, count($errors) . ' validation errors in request', $errors);
    } else {
        answer(200, ['name' => $b['name'], 'price' => $b['price'], 'tags' => $b['tags']]);
    }
} else {
    problem(404, 'No route matches the requested path');
}
