<?php

declare(strict_types=1);

// Shared by the PHP peers (php-fpm, slim-fpm): the constraints of the
// workload table checked by hand, and the conversions a plain route needs.
// Returns the fields of each route: [name, type, check of the validated
// variant]; defines pairs(), convert(), orderOk() and uploadAnswer().

/** name => list of values, repeated keys kept (PHP's own parser keeps the last). */
function pairs(string $s): array
{
    $out = [];
    foreach ($s === '' ? [] : explode('&', $s) as $kv) {
        [$k, $v] = array_pad(explode('=', $kv, 2), 2, '');
        $out[urldecode($k)][] = urldecode($v);
    }
    return $out;
}

$len = fn (int $min, int $max) => fn ($v) => mb_strlen($v) >= $min && mb_strlen($v) <= $max;
$re = fn (string $rx, int $min = 0, int $max = PHP_INT_MAX) => fn ($v) => mb_strlen($v) >= $min && mb_strlen($v) <= $max && preg_match($rx, $v) === 1;
$range = fn ($min, $max = PHP_INT_MAX) => fn ($v) => $v >= $min && $v <= $max;
$oneOf = fn (string ...$vals) => fn ($v) => in_array($v, $vals, true);
$strs = fn (int $maxItems, int $maxLen) => fn ($v) => count($v) <= $maxItems && count(array_filter($v, fn ($s) => mb_strlen($s) > $maxLen)) === 0;
$name = $re('/^[a-z0-9-]+$/', 1, 50);
$word = $re('/^[a-z]+$/', 1, 20);
$email = $re('/^[^@\s]+@[^@\s]+\.[^@\s]+$/', 0, 254);
$date = function ($v) {
    if (preg_match('/^(\d{4})-(\d{2})-(\d{2})$/', $v, $m) !== 1) {
        return false;
    }
    return (int) $m[2] >= 1 && (int) $m[2] <= 12 && (int) $m[3] >= 1 && (int) $m[3] <= 31;
};
$medium = [['q', 's', $len(1, 100)], ['category', 's', $len(1, 50)], ['brand', 's', $len(1, 50)],
    ['min_price', 'f', $range(0, INF)], ['max_price', 'f', $range(0, INF)], ['in_stock', 'b', null],
    ['sort', 's', $oneOf('price', 'name', 'rating')], ['order', 's', $oneOf('asc', 'desc')],
    ['limit', 'i', $range(1, 100)], ['page', 'i', $range(1)]];
$fields = [
    'query-few' => [['q', 's', $len(1, 100)], ['limit', 'i', $range(1, 100)], ['page', 'i', $range(1)]],
    'query-medium' => $medium,
    'query-many' => array_merge($medium, [['tags', 'a', $strs(10, 30)], ['color', 's', $len(0, 30)], ['size', 's', $oneOf('s', 'm', 'l', 'xl')],
        ['rating', 'i', $range(0, 5)], ['currency', 's', $re('/^[A-Z]{3}$/')], ['lang', 's', $len(2, 5)], ['offset', 'i', $range(0)],
        ['include_reviews', 'b', null], ['seller', 's', $len(0, 50)], ['region', 's', $len(0, 50)]]),
    'urlencoded-simple' => [['name', 's', $len(1, 100)], ['email', 's', $email], ['age', 'i', $range(0, 150)], ['subscribe', 'b', null]],
    'urlencoded-complex' => [['first_name', 's', $len(1, 100)], ['last_name', 's', $len(1, 100)], ['email', 's', $email],
        ['age', 'i', $range(0, 150)], ['street', 's', $len(0, 200)], ['city', 's', $len(0, 100)], ['zip', 's', $re('/^\d{5}$/')],
        ['country', 's', $re('/^[A-Z]{2}$/')], ['phone', 's', $re('/^\+?[0-9 ]{6,20}$/')], ['interests', 'a', $strs(10, 30)],
        ['quantity', 'i', $range(1, 99)], ['unit_price', 'f', fn ($v) => $v > 0], ['gift', 'b', null], ['comment', 's', $len(0, 500)]],
    'path-simple' => [['name', 's', $name]],
    'path-int' => [['id', 'i', $range(1, 1000000)]],
    'path-uuid' => [['id', 's', $re('/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/')]],
    'path-date' => [['date', 's', $date]],
    'path-deep' => [['a', 's', $word], ['b', 's', $word], ['c', 's', $word], ['d', 's', $word], ['e', 's', $word]],
    'path-multiple' => [['user_id', 'i', $range(1)], ['post_id', 'i', $range(1)], ['slug', 's', $name]],
];

/** Converts (and when validated checks) the fields; null when one fails. */
function convert(array $fields, array $params, bool $validated): ?array
{
    $out = [];
    foreach ($fields as [$name, $type, $check]) {
        if (!isset($params[$name])) {
            return null;
        }
        $raw = $params[$name][0];
        switch ($type) {
            case 'a': $v = $params[$name]; break;
            case 's': $v = $raw; break;
            case 'i':
                if (preg_match('/^-?\d+$/', $raw) !== 1) { return null; }
                $v = (int) $raw; break;
            case 'f':
                if (!is_numeric($raw)) { return null; }
                $v = (float) $raw; break;
            case 'b':
                if ($raw === 'true' || $raw === '1') { $v = true; } elseif ($raw === 'false' || $raw === '0') { $v = false; } else { return null; }
                break;
        }
        if ($validated && $check !== null && !$check($v)) {
            return null;
        }
        $out[$name] = $v;
    }
    return $out;
}

function orderOk(mixed $o): bool
{
    if (!is_array($o) || !is_int($o['id'] ?? null) || $o['id'] < 1 || !is_string($o['name'] ?? null)
        || mb_strlen($o['name']) < 1 || mb_strlen($o['name']) > 100 || !is_bool($o['active'] ?? null)
        || !(is_int($o['price'] ?? null) || is_float($o['price'] ?? null)) || $o['price'] <= 0
        || !is_array($o['tags'] ?? null) || count($o['tags']) > 20 || !is_array($o['items'] ?? null) || count($o['items']) > 5000) {
        return false;
    }
    foreach ($o['tags'] as $t) {
        if (!is_string($t) || mb_strlen($t) > 30) { return false; }
    }
    foreach ($o['items'] as $it) {
        if (!is_array($it) || !is_string($it['sku'] ?? null) || preg_match('/^[A-Z]{3}-\d{4}$/', $it['sku']) !== 1
            || !is_int($it['qty'] ?? null) || $it['qty'] < 1 || $it['qty'] > 1000
            || !(is_int($it['price'] ?? null) || is_float($it['price'] ?? null)) || $it['price'] < 0
            || (isset($it['note']) && (!is_string($it['note']) || mb_strlen($it['note']) > 200))) {
            return false;
        }
    }
    return true;
}

/**
 * The answer of an upload ({title, filename, size}), or null when the form
 * lacks its parts or (validated) breaks the upload schema.
 */
function uploadAnswer(mixed $title, ?string $filename, ?string $type, ?int $size, bool $validated): ?array
{
    if (!is_string($title) || $filename === null || $size === null) {
        return null;
    }
    if ($validated && (mb_strlen($title) < 1 || mb_strlen($title) > 100 || $filename === '' || $type !== 'text/plain'
        || $size < 1 || $size > 1 << 20)) {
        return null;
    }
    return ['title' => $title, 'filename' => $filename, 'size' => $size];
}

return $fields;
