<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;

/** `spikard serve`: worker processes, restarts, graceful stop. */
final class WorkerTest extends TestCase
{
    public function testFatalErrorAnswers500AndTheWorkerIsReplaced(): void
    {
        $s = new TestServer(TestServer::app('crash'));
        try {
            $pid = $s->request('GET', '/pid')['json']['pid'];
            $r = $s->request('GET', '/fatal');
            self::assertSame(500, $r['status'], 'the dying worker answers the request it was running');
            self::assertTrue($s->waitLog('died (exit 255): restarting it'), $s->log());
            self::assertTrue($s->waitReady());
            $pid2 = $s->request('GET', '/pid')['json']['pid'];
            self::assertNotSame($pid, $pid2);
            self::assertStringContainsString('Allowed memory size', $s->log());
        } finally {
            $s->stop();
        }
    }

    public function testExitAndKillAreRestarted(): void
    {
        $s = new TestServer(TestServer::app('crash'));
        try {
            $pid = $s->request('GET', '/pid')['json']['pid'];
            $r = $s->request('GET', '/exit');
            self::assertSame(500, $r['status']);
            self::assertTrue($s->waitLog('died (exit 7): restarting it'), $s->log());
            self::assertTrue($s->waitReady());
            $pid2 = $s->request('GET', '/pid')['json']['pid'];
            self::assertNotSame($pid, $pid2);

            // SIGKILL: nothing runs in the worker; its connection dies with it
            $r = $s->request('GET', '/kill');
            self::assertSame(0, $r['status'], 'no answer from a killed worker');
            self::assertTrue($s->waitLog('died (signal 9): restarting it'), $s->log());
            self::assertTrue($s->waitReady());
            self::assertSame(200, $s->request('GET', '/pid')['status']);
        } finally {
            $s->stop();
        }
    }

    public function testSigtermStopsGracefully(): void
    {
        $s = new TestServer(TestServer::app('crash'));
        $c = stream_socket_client("tcp://127.0.0.1:{$s->port}");
        fwrite($c, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        self::assertTrue($s->waitLog('slow started'), 'the request reached the handler');
        self::assertSame(0, $s->signal(\SIGTERM));
        $r = TestServer::parse((string) stream_get_contents($c));
        self::assertSame(200, $r['status'], 'the request in flight is answered');
        self::assertSame(['slow' => 'done'], $r['json']);
        self::assertStringContainsString('spikard: stopped', $s->log());
        self::assertFalse(@stream_socket_client("tcp://127.0.0.1:{$s->port}", $e, $m, 1), 'the port is closed');
        $s->stop();
    }

    public function testSigintStopsToo(): void
    {
        $s = new TestServer(TestServer::app('crash'));
        self::assertSame(200, $s->request('GET', '/pid')['status']);
        self::assertSame(0, $s->signal(\SIGINT));
        $s->stop();
    }

    public function testMaxRequestsRecyclesTheWorker(): void
    {
        $s = new TestServer(TestServer::app('crash'), 1, ['--max-requests', '3']);
        try {
            $pids = [];
            for ($i = 0; $i < 3; $i++) {
                $pids[] = $s->request('GET', '/pid')['json']['pid'];
            }
            self::assertCount(1, array_unique($pids));
            self::assertTrue($s->waitLog('ended (max requests)'), $s->log());
            self::assertTrue($s->waitReady());
            self::assertNotSame($pids[0], $s->request('GET', '/pid')['json']['pid']);
        } finally {
            $s->stop();
        }
    }

    public function testSeveralWorkers(): void
    {
        $s = new TestServer(TestServer::app('crash'), 2);
        try {
            self::assertTrue($s->waitLog('worker 2 (pid'), $s->log());
            self::assertTrue($s->waitLog('worker 1 (pid'), $s->log());
            preg_match_all('/worker \d \(pid (\d+)\) listening on http:\/\/127\.0\.0\.1:(\d+)/', $s->log(), $m);
            $started = array_map('intval', $m[1]);
            sort($started);
            self::assertCount(2, array_unique($started), $s->log());
            self::assertSame([(string) $s->port, (string) $s->port], $m[2]);
            self::assertNotContains($s->pid(), $started);
            self::assertStringNotContainsString('could not listen', $s->log());
            // 20 requests, each on a new connection: all answer 200, each from one of the
            // workers. The kernel spreads connections by hash, so one round can land on a
            // single worker: new rounds (new connections) until both have answered.
            $seen = [];
            for ($round = 0; $round < 25 && count($seen) < 2; $round++) {
                for ($i = 0; $i < 20; $i++) {
                    $r = $s->request('GET', '/pid');
                    self::assertSame(200, $r['status'], $r['body']);
                    $seen[$r['json']['pid']] = true;
                }
            }
            $seen = array_keys($seen);
            sort($seen);
            self::assertSame($started, $seen, $s->log());
            self::assertSame(0, $s->signal(\SIGTERM), $s->log());
            foreach ($started as $pid) {
                self::assertFalse(posix_kill($pid, 0), "worker $pid still running");
            }
            self::assertStringContainsString('spikard: stopped', $s->log());
        } finally {
            $s->stop();
        }
    }

    public function testSeveralWorkersNeedAPort(): void
    {
        $sup = new \Spikard\Supervisor(require TestServer::app('crash'), '127.0.0.1', 0, 2);
        self::assertSame(2, $sup->run());
    }

    public function testWorkerDocumentSetsReusePort(): void
    {
        $app = new \Spikard\App(['max_body_bytes' => 1234]);
        $app->get('/', fn () => []);
        $doc = json_decode(\Spikard\Server::withReusePort($app->configJson()), true);
        self::assertTrue($doc['server']['reuse_port']);
        self::assertSame(1234, $doc['server']['max_body_bytes']);
        $doc = json_decode(\Spikard\Server::withReusePort((new \Spikard\App())->configJson()), true);
        self::assertSame(['reuse_port' => true], $doc['server']);
    }
}
