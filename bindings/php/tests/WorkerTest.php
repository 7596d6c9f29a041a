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
            self::assertTrue($s->waitLog('worker 2'), $s->log());
            for ($i = 0; $i < 10; $i++) {
                self::assertSame(200, $s->request('GET', '/pid')['status']);
            }
        } finally {
            $s->stop();
        }
    }
}
