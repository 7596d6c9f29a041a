<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;

/** An attribute controller served for real. */
final class ControllerTest extends TestCase
{
    private static TestServer $s;

    public static function setUpBeforeClass(): void
    {
        self::$s = new TestServer(TestServer::app('controllers'));
    }

    public static function tearDownAfterClass(): void
    {
        self::$s->stop();
    }

    public function testCrud(): void
    {
        $c = self::$s->json('POST', '/api/users', ['name' => 'ann', 'age' => 30, 'role' => 'admin'], ['X-Tenant' => 't1']);
        self::assertSame(201, $c['status']);
        self::assertSame(1, $c['json']['id']);
        self::assertSame('t1', $c['json']['tenant']);
        self::assertSame('admin', $c['json']['user']['role']);
        self::assertSame('none', self::$s->json('POST', '/api/users', ['name' => 'bob', 'age' => 20])['json']['tenant']);

        self::assertSame('ann', self::$s->request('GET', '/api/users/1')['json']['name']);
        self::assertSame(404, self::$s->request('GET', '/api/users/99')['status']);
        self::assertSame(422, self::$s->request('GET', '/api/users/x')['status']);

        $l = self::$s->request('GET', '/api/users?limit=1')['json'];
        self::assertSame(1, $l['limit']);
        self::assertCount(1, $l['users']);
        $admins = self::$s->request('GET', '/api/users?role=admin')['json'];
        self::assertSame('admin', $admins['role']);
        self::assertSame([['id' => 1, 'name' => 'ann']], $admins['users']);
        self::assertSame(422, self::$s->request('GET', '/api/users?role=root')['status']);
        self::assertSame(422, self::$s->request('GET', '/api/users?limit=many')['status']);

        $p = self::$s->json('PUT', '/api/users/2', ['name' => 'bob', 'age' => 21, 'address' => ['city' => 'Rome']]);
        self::assertSame(['id' => 2, 'address' => 'Rome'], $p['json']);
        self::assertSame(422, self::$s->json('PUT', '/api/users/2', ['name' => 'bob', 'age' => 21, 'address' => ['zip' => '1']])['status']);

        self::assertSame(204, self::$s->request('DELETE', '/api/users/2')['status']);
        self::assertSame(404, self::$s->request('GET', '/api/users/2')['status']);
    }

    public function testInjectedValueDependency(): void
    {
        self::assertSame(['region' => 'eu-west', 'deps' => ['settings']], self::$s->request('GET', '/api/users/config/region')['json']);
    }
}
