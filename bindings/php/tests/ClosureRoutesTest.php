<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;

/** Closure routes over a real socket: values validated and converted by the core. */
final class ClosureRoutesTest extends TestCase
{
    private static TestServer $s;

    public static function setUpBeforeClass(): void
    {
        self::$s = new TestServer(TestServer::app('basic'));
    }

    public static function tearDownAfterClass(): void
    {
        self::$s->stop();
    }

    public function testJson(): void
    {
        $r = self::$s->request('GET', '/json');
        self::assertSame(200, $r['status']);
        self::assertSame(['application/json'], $r['headers']['content-type']);
        self::assertSame('{"message":"Hello, World!"}', $r['body']);
    }

    public function testPathAndQueryAreConverted(): void
    {
        self::assertSame(['id' => 42, 'page' => 1], self::$s->request('GET', '/users/42')['json']);
        self::assertSame(['id' => 42, 'page' => 3], self::$s->request('GET', '/users/42?page=3')['json']);
        $bad = self::$s->request('GET', '/users/abc');
        self::assertSame(422, $bad['status']);
        self::assertSame('int_parsing', $bad['json']['errors'][0]['type']);
        self::assertSame(['path', 'id'], $bad['json']['errors'][0]['loc']);
        self::assertSame(422, self::$s->request('GET', '/users/1?page=x')['status']);
    }

    public function testNamedPathParameterAndRawRequest(): void
    {
        $r = self::$s->request('GET', '/items/blue-pen?x=1');
        self::assertSame(['slug' => 'blue-pen', 'method' => 'GET', 'path' => '/items/blue-pen', 'qs' => 'x=1'], $r['json']);
    }

    public function testTypedQueryValues(): void
    {
        $r = self::$s->request('GET', '/typed?n=5&f=2.5&b=true');
        self::assertSame(['n' => 5, 'f' => 2.5, 'b' => true], $r['json']);
    }

    public function testDtoBody(): void
    {
        $r = self::$s->json('POST', '/users', ['name' => 'ann', 'age' => 31, 'role' => 'admin', 'address' => ['city' => 'Oslo'], 'tags' => ['a']]);
        self::assertSame(201, $r['status']);
        self::assertSame(['name' => 'ann', 'age' => 31, 'role' => 'admin', 'city' => 'Oslo', 'tags' => ['a'], 'score' => 0.0, 'class' => 'Spikard\\Tests\\Apps\\UserDto'], $r['json']);
        $bad = self::$s->json('POST', '/users', ['name' => '', 'age' => 200, 'role' => 'root']);
        self::assertSame(422, $bad['status']);
        self::assertSame(['application/problem+json'], $bad['headers']['content-type']);
        $types = array_column($bad['json']['errors'], 'type');
        sort($types);
        self::assertSame(['enum', 'less_than_equal', 'string_too_short'], $types);
    }

    public function testSchemaArrayBody(): void
    {
        self::assertSame(['got' => ['n' => 3]], self::$s->json('POST', '/schema', ['n' => 3])['json']);
        self::assertSame(422, self::$s->json('POST', '/schema', ['n' => 11])['status']);
        self::assertSame(400, self::$s->request('POST', '/schema', ['Content-Type' => 'application/json'], '{bad json')['status']);
    }

    public function testReturnValues(): void
    {
        $t = self::$s->request('GET', '/text');
        self::assertSame('plain text', $t['body']);
        self::assertSame(['text/plain; charset=utf-8'], $t['headers']['content-type']);
        self::assertSame(204, self::$s->request('GET', '/empty')['status']);
        $c = self::$s->request('GET', '/custom');
        self::assertSame(202, $c['status']);
        self::assertSame(['yes'], $c['headers']['x-custom']);
        self::assertSame('accepted', $c['body']);
        self::assertStringStartsWith('session=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax', $c['headers']['set-cookie'][0]);
        self::assertSame(['a' => 1], self::$s->request('GET', '/object')['json']);
    }

    public function testHttpExceptionIsAProblem(): void
    {
        $r = self::$s->request('GET', '/missing/5');
        self::assertSame(404, $r['status']);
        self::assertSame(['application/problem+json'], $r['headers']['content-type']);
        self::assertSame(['type' => 'about:blank', 'title' => 'Not Found', 'status' => 404, 'detail' => 'no record 5', 'id' => 5], $r['json']);
    }

    public function testExceptionIs500WithRequestIdAndTheWorkerGoesOn(): void
    {
        foreach (['/boom', '/type-error', '/bad-answer'] as $path) {
            $r = self::$s->request('GET', $path, ['X-Request-ID' => 'rid-' . trim($path, '/')]);
            self::assertSame(500, $r['status'], $path);
            self::assertSame(['application/problem+json'], $r['headers']['content-type']);
            self::assertSame(500, $r['json']['status']);
            self::assertSame(['rid-' . trim($path, '/')], $r['headers']['x-request-id']);
            self::assertSame(200, self::$s->request('GET', '/json')['status']);
        }
        $log = self::$s->log();
        self::assertStringContainsString('DomainException: the handler failed on purpose', $log);
        self::assertStringContainsString('request id rid-boom', $log);
        self::assertStringContainsString('ArgumentCountError', $log);
        self::assertTrue(self::$s->running());
    }

    public function testHeaders(): void
    {
        $r = self::$s->request('GET', '/headers', ['User-Agent' => 'phpunit', 'X-Token' => 'abcd', 'X-Request-ID' => 'given-id']);
        self::assertSame(['ua' => 'phpunit', 'rid' => 'given-id', 'token' => 'abcd'], $r['json']);
        self::assertSame(422, self::$s->request('GET', '/headers', ['X-Token' => 'ab'])['status']);
        self::assertSame(422, self::$s->request('GET', '/headers')['status']);
    }

    public function testValuesAreDecodedWhenRead(): void
    {
        // The worker decodes a handler's values lazily until the handler reads them once,
        // then before each call: both ways give the same values.
        foreach (['', '?read=true', '', '?read=1', ''] as $i => $qs) {
            $r = self::$s->request('POST', "/sometimes/$i$qs", ['Content-Type' => 'application/json'], '{"n":1}');
            self::assertSame(200, $r['status'], $qs);
            self::assertSame($qs === '' ? ['n' => 1] : ['id' => $i, 'body' => ['n' => 1], 'q' => ['read' => true]], $r['json'], $qs);
        }
        self::assertSame(['queued' => true], self::$s->request('GET', '/deferred/7')['json']);
        self::assertSame(['kept' => true], self::$s->request('GET', '/kept/8')['json']);
        $seen = self::$s->request('GET', '/seen')['json'];
        self::assertSame(7, $seen['deferred'], 'deferred work reads the values after the answer');
        self::assertStringContainsString('read after the request was answered', $seen['late'], 'a Request kept past its handler');
    }

    public function testRawBodyAndRouting(): void
    {
        $r = self::$s->request('POST', '/raw', ['Content-Type' => 'application/octet-stream'], "a\0b");
        self::assertSame(3, $r['json']['len']);
        self::assertSame(404, self::$s->request('GET', '/nowhere')['status']);
        self::assertSame(405, self::$s->request('DELETE', '/json')['status']);
    }
}
