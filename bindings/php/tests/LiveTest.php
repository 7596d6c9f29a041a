<?php

declare(strict_types=1);

namespace Spikard\Tests;

use PHPUnit\Framework\TestCase;

/** Streams, Server-Sent Events and WebSockets over real sockets (apps/live.php). */
final class LiveTest extends TestCase
{
    private static TestServer $s;

    public static function setUpBeforeClass(): void
    {
        self::$s = new TestServer(TestServer::app('live'));
    }

    public static function tearDownAfterClass(): void
    {
        self::$s->stop();
    }

    /** @return resource a connection that sent GET $path */
    private static function open(string $path, array $headers = [])
    {
        $c = stream_socket_client('tcp://127.0.0.1:' . self::$s->port, $errno, $errstr, 5);
        self::assertNotFalse($c, $errstr);
        stream_set_timeout($c, 20);
        $req = "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
        foreach ($headers as $k => $v) {
            $req .= "$k: $v\r\n";
        }
        fwrite($c, $req . "\r\n");
        return $c;
    }

    /** Reads from $c until $text arrived (bounded by the socket's timeout); returns all read. */
    private static function readUntil($c, string $text, string $got = ''): string
    {
        while (!str_contains($got, $text)) {
            $d = fread($c, 8192);
            if ($d === '' || $d === false) {
                self::fail("the connection ended before \"$text\" came; read: $got");
            }
            $got .= $d;
        }
        return $got;
    }

    private static function raw(string $path, array $headers = []): string
    {
        $c = self::open($path, $headers);
        $raw = (string) stream_get_contents($c);
        fclose($c);
        return $raw;
    }

    /**
     * The events of an event-stream body: each a map of its fields (data lines joined).
     *
     * @return list<array<string, string>>
     */
    private static function events(string $body): array
    {
        $out = [];
        foreach (preg_split('/\r?\n\r?\n/', $body) as $block) {
            $e = [];
            foreach (preg_split('/\r?\n/', $block) as $line) {
                if ($line === '') {
                    continue;
                }
                [$k, $v] = array_pad(explode(':', $line, 2), 2, '');
                $v = ltrim($v, ' ');
                $k = $k === '' ? 'comment' : $k;
                $e[$k] = isset($e[$k]) ? $e[$k] . "\n" . $v : $v;
            }
            if ($e !== []) {
                $out[] = $e;
            }
        }
        return $out;
    }

    public function testAGeneratorIsStreamedInChunks(): void
    {
        $r = TestServer::parse(self::raw('/stream'));
        self::assertSame(200, $r['status']);
        self::assertSame(['chunked'], $r['headers']['transfer-encoding']);
        self::assertArrayNotHasKey('content-length', $r['headers']);
        self::assertSame(['application/octet-stream'], $r['headers']['content-type']);
        self::assertSame("one\ntwo\n3", $r['body'], 'an empty chunk does not end the body');
    }

    public function testStreamedResponseStatusHeadersAndType(): void
    {
        $r = TestServer::parse(self::raw('/stream/ndjson'));
        self::assertSame(206, $r['status']);
        self::assertSame(['yes'], $r['headers']['x-stream']);
        self::assertSame(['application/x-ndjson'], $r['headers']['content-type']);
        self::assertSame("{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n", $r['body']);
    }

    public function testASlowStreamDoesNotHoldUpOtherRequests(): void
    {
        $c = self::open('/stream/slow');
        $got = self::readUntil($c, 'tick 0');
        // The stream has 9 ticks (1.8 s) to go: a worker that ran it to its end first would
        // answer the ping only after it.
        $ping = self::$s->request('GET', '/ping');
        self::assertSame(['pong' => true], $ping['json']);
        stream_set_blocking($c, false);
        $got .= (string) fread($c, 65536);
        self::assertStringNotContainsString('tick 9', $got, 'the ping was answered while the stream went on');
        stream_set_blocking($c, true);
        $got .= (string) stream_get_contents($c);
        fclose($c);
        $body = TestServer::parse($got)['body'];
        self::assertSame(implode('', array_map(fn ($i) => "tick $i\n", range(0, 9))), $body);
    }

    public function testAnExceptionBeforeTheFirstChunkIsAnOrdinaryAnswer(): void
    {
        $r = self::$s->request('GET', '/stream/refused');
        self::assertSame(409, $r['status']);
        self::assertSame('not now', $r['json']['detail']);
    }

    public function testAnExceptionMidwayCutsTheBodyOff(): void
    {
        $raw = self::raw('/stream/broken');
        self::assertStringContainsString("first\n", $raw);
        self::assertStringEndsNotWith("0\r\n\r\n", $raw, 'no last chunk: the client sees an incomplete body');
        self::assertTrue(self::$s->waitLog('the producer failed on purpose'), self::$s->log());
        self::assertSame(200, self::$s->request('GET', '/ping')['status'], 'the worker goes on');
    }

    public function testAClientThatLeavesStopsTheGenerator(): void
    {
        $mark = 'gone' . bin2hex(random_bytes(4));
        $file = sys_get_temp_dir() . '/spikard-live-' . $mark;
        @unlink($file);
        $c = self::open("/stream/endless?mark=$mark");
        self::readUntil($c, 'xxxx');
        fclose($c);
        $end = microtime(true) + 20;
        while (!is_file($file) && microtime(true) < $end) {
            usleep(20_000); // polling for the mark, bounded
        }
        self::assertFileExists($file, "the generator's finally block ran");
        unlink($file);
        self::assertSame(200, self::$s->request('GET', '/ping')['status']);
    }

    public function testEventsWithEveryFieldAndASchemaRejection(): void
    {
        $r = TestServer::parse(self::raw('/events', ['Accept' => 'text/event-stream']));
        self::assertSame(200, $r['status']);
        self::assertStringStartsWith('text/event-stream', $r['headers']['content-type'][0]);
        self::assertArrayNotHasKey('content-length', $r['headers']);
        $ev = self::events($r['body']);
        self::assertSame(['comment' => 'hello'], $ev[0]);
        self::assertSame(['event' => 'tick', 'id' => '1', 'data' => '{"n":1}'], $ev[1]);
        self::assertSame(['event' => 'tick', 'id' => '2', 'data' => '{"n":2}'], $ev[2]);
        self::assertSame(['event' => 'tick', 'id' => '3', 'retry' => '1500', 'data' => '{"n":3}'], array_intersect_key($ev[3], ['event' => 1, 'id' => 1, 'retry' => 1, 'data' => 1]));
        self::assertSame('note', $ev[4]['event']);
        $note = json_decode($ev[4]['data'], true);
        self::assertSame('4', $note['rejected'], 'the rejected event reached the generator as an exception');
        self::assertStringContainsString('event_schema', $note['why']);
        self::assertCount(5, $ev);
        self::assertStringNotContainsString('not a number', $r['body']);
    }

    public function testLastEventIdResumes(): void
    {
        $r = TestServer::parse(self::raw('/events', ['Last-Event-ID' => '2']));
        $ev = self::events($r['body']);
        self::assertSame(['comment' => 'hello'], $ev[0]);
        self::assertSame('3', $ev[1]['id']);
        self::assertSame('note', $ev[2]['event']);
    }

    public function testABareGeneratorOnAnSseRouteSendsData(): void
    {
        $r = TestServer::parse(self::raw('/events/plain'));
        self::assertStringStartsWith('text/event-stream', $r['headers']['content-type'][0]);
        self::assertSame([['data' => 'line one'], ['data' => '{"n":7}']], self::events($r['body']));
    }

    public function testAnUncaughtRejectionCutsTheStreamOff(): void
    {
        $raw = self::raw('/events/uncaught');
        self::assertStringContainsString('{"n":1}', $raw);
        self::assertStringNotContainsString('{"n":2}', $raw);
        self::assertStringEndsNotWith("0\r\n\r\n", $raw);
    }

    public function testWebSocketEchoAndReturnValues(): void
    {
        $ws = new WsClient(self::$s->port, '/ws/lobby');
        self::assertSame(101, $ws->status);
        self::assertSame([1, '{"room":"lobby","origin":null}'], $ws->recv(), 'onOpen greets');
        $ws->sendText('héllo');
        self::assertSame([1, 'echo: héllo'], $ws->recv());
        $ws->sendBinary("a\x00b\xff");
        self::assertSame([2, "\xffb\x00a"], $ws->recv());
        $ws->sendText('json');
        self::assertSame([1, '{"echo":"json"}'], $ws->recv());
        $ws->sendText('bin');
        self::assertSame([2, "\x00\x01"], $ws->recv());
        $ws->sendClose(1000, 'done');
        self::assertSame([8, [1000, '']], $ws->recv(), 'the close is answered with its code');
        $ws->close();
        $end = microtime(true) + 20;
        do {
            $closes = self::$s->request('GET', '/ws-closes')['json']['closes'];
        } while (!\in_array(['room' => 'lobby', 'code' => 1000, 'reason' => 'done'], $closes, true) && microtime(true) < $end && usleep(20_000) === null);
        self::assertContains(['room' => 'lobby', 'code' => 1000, 'reason' => 'done'], $closes, 'onClose got the code and reason');
    }

    public function testWebSocketHandlerCloses(): void
    {
        $ws = new WsClient(self::$s->port, '/ws/room2');
        $ws->recv();
        $ws->sendText('bye');
        self::assertSame([8, [4001, 'bye now']], $ws->recv());
        $ws->close();
    }

    public function testWebSocketExceptionClosesWith1011(): void
    {
        $ws = new WsClient(self::$s->port, '/ws/room3');
        $ws->recv();
        $ws->sendText('boom');
        self::assertSame(1011, $ws->recv()[1][0]);
        $ws->close();
        self::assertTrue(self::$s->waitLog('the handler failed on purpose'), self::$s->log());
        self::assertSame(200, self::$s->request('GET', '/ping')['status'], 'the worker goes on');
    }

    public function testWebSocketUpgradeIsValidated(): void
    {
        $ws = new WsClient(self::$s->port, '/ws/x');
        self::assertSame(422, $ws->status, 'the path parameter is too short');
        $ws->close();
    }

    public function testWebSocketHandlerClassAndSubprotocol(): void
    {
        $ws = new WsClient(self::$s->port, '/upper', ['Sec-WebSocket-Protocol' => 'other, shout']);
        self::assertSame(101, $ws->status);
        self::assertSame('shout', $ws->headers['sec-websocket-protocol']);
        $ws->sendText('abc');
        self::assertSame([1, 'ABC'], $ws->recv());
        $ws->sendClose(4000);
        self::assertSame(8, $ws->recv()[0]);
        $ws->close();
    }
}
