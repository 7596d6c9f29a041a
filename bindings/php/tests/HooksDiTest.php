<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;

/** Lifecycle hooks, dependencies and deferred work, run by the core, over a real socket. */
final class HooksDiTest extends TestCase
{
    private static TestServer $s;

    public static function setUpBeforeClass(): void
    {
        self::$s = new TestServer(TestServer::app('hooks_di'));
    }

    public static function tearDownAfterClass(): void
    {
        self::$s->stop();
    }

    public function testFactoriesValuesAndHookState(): void
    {
        $a = self::$s->request('GET', '/greet');
        self::assertSame(200, $a['status']);
        self::assertSame('hello', $a['json']['greeter']['text']);
        self::assertSame(['id' => 7], $a['json']['user']);
        self::assertSame(['pre'], $a['headers']['x-hooked']);
        self::assertSame(['200'], $a['headers']['x-status-seen']);
        $b = self::$s->request('GET', '/greet');
        self::assertSame($a['json']['greeter']['n'] + 1, $b['json']['greeter']['n'], 'a per-use factory runs for each request');
    }

    public function testOnRequestShortCircuits(): void
    {
        $r = self::$s->request('GET', '/greet', ['X-Block' => '1']);
        self::assertSame(403, $r['status']);
        self::assertSame(['blocked' => true], $r['json']);
        self::assertArrayNotHasKey('x-hooked', $r['headers']);
    }

    public function testOnErrorReplacesTheProblem(): void
    {
        $r = self::$s->request('GET', '/fail');
        self::assertSame(503, $r['status']);
        self::assertSame(['replaced' => true, 'was' => 500], $r['json']);
    }

    public function testSingletonAndCleanups(): void
    {
        $a = self::$s->request('GET', '/pool')['json'];
        $b = self::$s->request('GET', '/pool')['json'];
        self::assertSame($a['pool'], $b['pool']);
        self::assertSame(['tx' => 1], $a['tx']);
        $events = $this->eventsUntil(static fn (array $e) => \count(array_filter($e, static fn ($x) => str_starts_with($x, 'tx-cleanup'))) >= 2);
        self::assertContains('tx-cleanup:{"tx":1}', $events);
        self::assertNotContains('cleanup', $events, 'a singleton is cleaned up when the app stops, not per request');
    }

    public function testDeferredWorkRunsAfterTheAnswer(): void
    {
        $r = self::$s->json('POST', '/later', ['v' => 'x1']);
        self::assertSame(202, $r['status']);
        self::assertSame(['queued' => true], $r['json']);
        self::assertContains('deferred:x1', $this->eventsUntil(static fn (array $e) => \in_array('deferred:x1', $e, true)));
    }

    public function testCoreBackgroundTask(): void
    {
        $r = self::$s->json('POST', '/audited', ['what' => 'login']);
        self::assertSame(202, $r['status']);
        self::assertContains('task:login:task', $this->eventsUntil(static fn (array $e) => \in_array('task:login:task', $e, true)));
    }

    /** Polls /events (bounded) until $done says so. */
    private function eventsUntil(callable $done): array
    {
        for ($i = 0; $i < 100; $i++) {
            $e = self::$s->request('GET', '/events')['json']['events'];
            if ($done($e)) {
                return $e;
            }
            usleep(20000);
        }
        return $e;
    }
}
