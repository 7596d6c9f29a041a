<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;
use Spikard\App;
use Spikard\Request;
use Spikard\SpikardException;

/** The in-process API: listen, poll, close, errors of the library. */
final class ServerApiTest extends TestCase
{
    public function testListenPollClose(): void
    {
        $seen = [];
        $app = new App();
        $app->get('/hi/{n:int}', function (Request $r) use (&$seen) {
            $seen[] = $r->path['n'];
            return ['n' => $r->path['n'] * 2];
        });
        $s = $app->listen('127.0.0.1', 0);
        self::assertGreaterThan(0, $s->port());
        $c = stream_socket_client("tcp://127.0.0.1:{$s->port()}");
        fwrite($c, "GET /hi/21 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        $n = 0;
        for ($i = 0; $i < 100 && $n === 0; $i++) { // bounded: the request is queued within a few ms
            $n = $s->poll(100);
        }
        self::assertSame(1, $n);
        $r = TestServer::parse((string) stream_get_contents($c));
        self::assertSame(['n' => 42], $r['json']);
        self::assertSame([21], $seen);
        self::assertSame(1, $s->served());
        $s->close();
        self::assertSame(-1, $s->poll(0));
        self::assertFalse(@stream_socket_client("tcp://127.0.0.1:{$s->port()}", $e, $m, 1));
    }

    public function testRequestViewIsClosedAfterTheAnswer(): void
    {
        $kept = null;
        $app = new App();
        $app->get('/keep', function (Request $r) use (&$kept) {
            $kept = $r;
            return ['m' => $r->method()];
        });
        $s = $app->listen('127.0.0.1', 0);
        $c = stream_socket_client("tcp://127.0.0.1:{$s->port()}");
        fwrite($c, "GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        for ($i = 0; $i < 100 && $s->poll(100) === 0; $i++) {
        }
        self::assertSame(['m' => 'GET'], TestServer::parse((string) stream_get_contents($c))['json']);
        $s->close();
        $this->expectException(\LogicException::class);
        $kept->uriPath();
    }

    public function testConfigErrorsComeFromTheLibrary(): void
    {
        $app = new App();
        $app->get('/a/{id:int}', fn () => []);
        $app->get('/a/{id:int}', fn () => []);
        try {
            $app->listen('127.0.0.1', 0);
            self::fail('clashing routes were accepted');
        } catch (SpikardException $e) {
            self::assertSame(SpikardException::ECONFIG, $e->getCode());
        }
    }

    public function testPortInUse(): void
    {
        $a = (new App())->get('/', fn () => [])->listen('127.0.0.1', 0);
        try {
            (new App())->get('/', fn () => [])->listen('127.0.0.1', $a->port());
            self::fail('listened twice on one port');
        } catch (SpikardException $e) {
            self::assertSame(SpikardException::EIO, $e->getCode());
            self::assertStringContainsString('address already in use', $e->getMessage());
        } finally {
            $a->close();
        }
    }

    public function testOpenApiAndCheckedConfig(): void
    {
        $app = require __DIR__ . '/apps/controllers.php';
        $doc = json_decode($app->openapi(), true);
        self::assertSame('3.1.0', $doc['openapi']);
        self::assertArrayHasKey('/api/users/{id}', $doc['paths']);
        self::assertArrayHasKey('post', $doc['paths']['/api/users']);
        $cfg = json_decode($app->checkedConfig(), true);
        self::assertSame('POST', $cfg['routes'][2]['method']);
    }
}
