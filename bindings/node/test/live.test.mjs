// Streamed answers, Server-Sent Events and WebSockets over real sockets:
// chunks as they come, a client that leaves, a producer that throws, slow
// clients that never block the event loop, event schemas, close codes,
// handlers that throw (1011), both dispatch modes.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { Spikard, HttpError, SSEEventError, WebSocketError } from 'spikard';
import { wsConnect } from './wsclient.mjs';

/** A promise with its resolve function, to hand a moment from one side to the other. */
function signal() {
  let resolve;
  const p = new Promise((r) => (resolve = r));
  return Object.assign(p, { resolve });
}

/** GET url: resolves at the headers with the response, which is read by the caller. */
function open(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, resolve);
    req.on('error', reject);
  });
}

/** The whole body of a response, or the error that cut it off. */
function readAll(res) {
  return new Promise((resolve) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ body: Buffer.concat(chunks), complete: res.complete }));
    res.on('aborted', () => resolve({ body: Buffer.concat(chunks), complete: false }));
    res.on('error', () => resolve({ body: Buffer.concat(chunks), complete: false }));
  });
}

/** Parses an event stream as a browser does (LF line ends here). */
function parseEvents(text) {
  const out = [];
  let ev = { data: [] };
  let lastId = '';
  const comments = [];
  let retry;
  for (const line of text.split('\n')) {
    if (line === '') {
      if (ev.data.length) out.push({ event: ev.event ?? 'message', data: ev.data.join('\n'), id: lastId });
      ev = { data: [] };
    } else if (line.startsWith(':')) comments.push(line.slice(1).trim());
    else {
      const i = line.indexOf(':');
      const k = i < 0 ? line : line.slice(0, i);
      const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (k === 'data') ev.data.push(v);
      else if (k === 'event') ev.event = v;
      else if (k === 'id') lastId = v;
      else if (k === 'retry') retry = Number(v);
    }
  }
  return { events: out, comments, retry };
}

describe('streamed answers', () => {
  const app = new Spikard();
  const gate = { next: signal() };
  const left = { stopped: signal(), produced: 0 };
  const slow = { produced: 0, stopped: signal() };

  app.get('/gen', async function* () {
    yield 'first,';
    await gate.next; // the test lets the second chunk go once it read the first
    yield Buffer.from('second,');
    yield new Uint8Array([0x74, 0x68, 0x69, 0x72, 0x64]);
  });
  app.get('/typed', (req, reply) => {
    reply.code(206).header('x-part', '1').type('application/x-ndjson');
    return (function* () {
      for (let i = 0; i < 3; i++) yield `{"i":${i}}\n`;
    })();
  });
  app.get('/response-like', () => ({ status: 201, headers: { 'content-type': 'text/csv', 'x-rows': 2 }, body: Readable.from(['a,b\n', '1,2\n']) }));
  app.get('/web-stream', () => {
    const enc = new TextEncoder();
    let i = 0;
    return new ReadableStream({
      pull(c) {
        if (i === 3) c.close();
        else c.enqueue(enc.encode(`part${i++};`));
      },
    });
  });
  app.get('/response-stream', () => {
    let sent = false;
    const body = new ReadableStream({
      async pull(c) {
        if (sent) return c.close();
        sent = true;
        c.enqueue(new TextEncoder().encode('streamed '));
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        c.enqueue(new TextEncoder().encode('response'));
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/plain' } });
  });
  app.get('/response-whole', () => new Response('whole body', { headers: { 'content-type': 'text/plain' } }));
  app.get('/empty-chunks', async function* () {
    yield '';
    yield 'a';
    yield Buffer.alloc(0);
    yield 'b';
  });
  app.get('/throws', async function* () {
    yield 'partial';
    await new Promise((r) => setImmediate(r));
    throw new Error('the producer failed');
  });
  app.get('/bad-chunk', async function* () {
    yield 'ok';
    yield { not: 'bytes' };
  });
  // endless produces chunks until the client leaves; its finally reports it
  const endless = (size, state) =>
    async function* () {
      try {
        const chunk = Buffer.alloc(size, 'x');
        for (;;) {
          state.produced++;
          yield chunk;
        }
      } finally {
        state.stopped.resolve(state.produced);
      }
    };
  app.get('/forever', endless(16 * 1024, left));
  app.get('/slow-client', endless(64 * 1024, slow));
  app.get('/json', () => ({ ok: true }));

  after(() => app.close());

  test('an async generator streams its chunks as they come, chunked', async () => {
    const url = await app.listen(0);
    const res = await open(`${url}/gen`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    const first = await new Promise((r) => res.once('data', r));
    assert.equal(first.toString(), 'first,'); // sent before the generator went on
    gate.next.resolve();
    const rest = await readAll(res);
    assert.equal(first.toString() + rest.body.toString(), 'first,second,third');
    assert.ok(rest.complete);
  });

  test('status, headers and content type come from reply or a response object', async () => {
    let res = await open(`http://127.0.0.1:${app.port}/typed`);
    assert.equal(res.statusCode, 206);
    assert.equal(res.headers['x-part'], '1');
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    assert.equal((await readAll(res)).body.toString(), '{"i":0}\n{"i":1}\n{"i":2}\n');
    res = await open(`http://127.0.0.1:${app.port}/response-like`);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['content-type'], 'text/csv');
    assert.equal(res.headers['x-rows'], '2');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal((await readAll(res)).body.toString(), 'a,b\n1,2\n');
  });

  test('web ReadableStreams and Response bodies stream; a Response with its body at hand is sent whole', async () => {
    let res = await open(`http://127.0.0.1:${app.port}/web-stream`);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal((await readAll(res)).body.toString(), 'part0;part1;part2;');
    res = await open(`http://127.0.0.1:${app.port}/response-stream`);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal((await readAll(res)).body.toString(), 'streamed response');
    const r = await app.inject('/response-whole');
    assert.equal(r.body, 'whole body');
    assert.equal(r.headers['content-length'], '10');
    assert.equal((await app.inject('/empty-chunks')).body, 'ab');
  });

  test('a producer that throws cuts the body off; the server goes on', async () => {
    for (const path of ['/throws', '/bad-chunk']) {
      const res = await open(`http://127.0.0.1:${app.port}${path}`);
      assert.equal(res.statusCode, 200);
      const got = await readAll(res);
      assert.equal(got.complete, false, `${path}: a failed stream must not look complete`);
      assert.ok(['partial', 'ok'].includes(got.body.toString()), got.body.toString());
    }
    assert.deepEqual((await app.inject('/json')).json(), { ok: true });
  });

  test('a client that leaves stops the producer (return()) and ends the stream', async () => {
    const sock = net.connect(app.port, '127.0.0.1');
    sock.write('GET /forever HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => sock.once('data', r));
    sock.destroy();
    const produced = await left.stopped; // the generator's finally ran
    assert.ok(produced > 0);
    assert.deepEqual((await app.inject('/json')).json(), { ok: true });
  });

  test('a client that does not read never blocks the event loop, and the producer waits for it', async () => {
    const sock = net.connect(app.port, '127.0.0.1');
    sock.pause(); // reads nothing: the socket buffers fill, then the core's queue, then the addon's
    sock.write('GET /slow-client HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 20; i++) assert.deepEqual((await app.inject('/json')).json(), { ok: true });
    // 64 KiB chunks: what is produced is bounded by the buffers, not the client's patience
    assert.ok(slow.produced < 2000, `produced ${slow.produced} chunks for a client that reads nothing`);
    sock.destroy();
    await slow.stopped;
  });
});

describe('server-sent events (callback dispatch)', () => {
  const app = new Spikard({ dispatch: 'callback' });
  const Tick = z.object({ n: z.number().int() });
  let caught;
  app.get('/events', { sse: { eventSchema: Tick, keepAliveMs: -1 } }, async function* (req) {
    yield { event: 'tick', data: { n: 1 }, id: 1, retry: 2500 };
    try {
      yield { event: 'tick', data: { n: 'not a number' }, id: 2 };
    } catch (e) {
      caught = e;
    }
    yield { data: { n: 3 }, comment: 'after a rejected event', id: req.lastEventId ?? 'none' };
  });
  app.get('/text', { sse: true }, async function* () {
    yield 'plain data';
    yield { event: 'multi', data: 'line one\nline two' };
    yield { id: '7' }; // no data: sets the id only
    yield { data: '' };
    yield { data: 'after' };
  });
  app.get('/uncaught', { sse: { eventSchema: Tick } }, async function* () {
    yield { data: { n: 1 } };
    yield { data: { n: 'x' } }; // not caught: the stream is cut off
    yield { data: { n: 2 } };
  });
  app.get('/bad-shape', { sse: true }, async function* () {
    try {
      yield { n: 1 }; // data must be wrapped: { data: { n: 1 } }
    } catch (e) {
      yield { event: 'error', data: e.message };
    }
  });
  app.get('/refuses', { sse: true }, (req) => {
    // a plain function checks before the stream begins: a refusal is an ordinary answer
    if (!req.header('authorization')) throw new HttpError(401, 'sign in first');
    return (async function* () {
      yield 'welcome';
    })();
  });
  app.get('/by-type', (req, reply) => {
    reply.type('text/event-stream');
    return (async function* () {
      yield { data: 'typed by content type' };
    })();
  });
  after(() => app.close());

  test('events, ids, retry and comments go out as an event stream', async () => {
    const url = await app.listen(0);
    const res = await open(`${url}/events`, { 'last-event-id': '41' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['cache-control'], 'no-cache');
    const { body, complete } = await readAll(res);
    assert.ok(complete);
    const parsed = parseEvents(body.toString());
    assert.deepEqual(parsed.events, [
      { event: 'tick', data: '{"n":1}', id: '1' },
      { event: 'message', data: '{"n":3}', id: '41' },
    ]);
    assert.equal(parsed.retry, 2500);
    assert.deepEqual(parsed.comments, ['after a rejected event']);
    assert.ok(caught instanceof SSEEventError, String(caught));
    assert.match(caught.message, /event_schema/);
    assert.equal(caught.code, 'SPIKARD_EINVAL');
  });

  test('strings, multi-line data, an id without data', async () => {
    const { body } = await readAll(await open(`http://127.0.0.1:${app.port}/text`));
    assert.deepEqual(parseEvents(body.toString()).events, [
      { event: 'message', data: 'plain data', id: '' },
      { event: 'multi', data: 'line one\nline two', id: '' },
      { event: 'message', data: 'after', id: '7' },
    ]);
  });

  test('an uncaught rejection cuts the stream off; a malformed event throws a TypeError at its yield', async () => {
    const got = await readAll(await open(`http://127.0.0.1:${app.port}/uncaught`));
    assert.equal(got.complete, false);
    assert.deepEqual(parseEvents(got.body.toString()).events, [{ event: 'message', data: '{"n":1}', id: '' }]);
    const { body } = await readAll(await open(`http://127.0.0.1:${app.port}/bad-shape`));
    const [ev] = parseEvents(body.toString()).events;
    assert.equal(ev.event, 'error');
    assert.match(ev.data, /yield \{ data: object \}/);
  });

  test('a handler refuses before the stream begins with an ordinary answer', async () => {
    const r = await app.inject('/refuses');
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().title, 'sign in first');
    const ok = await app.inject({ url: '/refuses', headers: { authorization: 'Bearer x' } });
    assert.equal(ok.headers['content-type'], 'text/event-stream');
    assert.deepEqual(parseEvents(ok.body).events, [{ event: 'message', data: 'welcome', id: '' }]);
  });

  test('Content-Type text/event-stream makes any route an event stream', async () => {
    const res = await open(`http://127.0.0.1:${app.port}/by-type`);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.deepEqual(parseEvents((await readAll(res)).body.toString()).events, [{ event: 'message', data: 'typed by content type', id: '' }]);
  });
});

for (const dispatch of ['poll', 'callback']) {
  describe(`websockets, dispatch ${dispatch}`, () => {
    const app = new Spikard({ dispatch });
    const closes = [];
    const closed = { next: signal() };
    let lateSend;
    app.ws('/echo/:room', { params: z.object({ room: z.string() }), maxMessageBytes: 1024 }, {
      onOpen(ws, req) {
        ws.data.greeted = true;
        ws.sendJson({ hello: ws.params.room, agent: req.header('x-client') ?? null });
      },
      async onMessage(ws, msg) {
        if (msg === 'bye') {
          await ws.close(4001, 'see you');
          return undefined;
        }
        if (msg === 'throw') throw new Error('onMessage failed');
        if (msg === 'reject') {
          await new Promise((r) => setImmediate(r));
          throw new Error('onMessage rejected');
        }
        if (msg === 'order') {
          ws.send('one');
          ws.send(Buffer.from('two'));
          return 'three'; // sent after what was sent during the event
        }
        if (msg === 'json') return { echo: 'json', greeted: ws.data.greeted };
        return msg; // text as text, binary as binary
      },
      onClose(ws, code, reason) {
        closes.push([code, reason]);
        lateSend = ws.send('too late');
        closed.next.resolve();
        closed.next = signal();
      },
    });
    app.ws('/open-throws', {
      onOpen() {
        throw new Error('no greeting today');
      },
    });
    after(() => app.close());

    test('echo of text, binary and JSON answers; greeting in onOpen; params and headers', async () => {
      const url = await app.listen(0);
      const c = await wsConnect(`${url.replace('http', 'ws')}/echo/lobby`, { 'x-client': 'tests' });
      assert.deepEqual(JSON.parse(await c.nextText()), { hello: 'lobby', agent: 'tests' });
      c.sendText('héllo');
      assert.deepEqual(await c.next(), { type: 'text', data: 'héllo' });
      c.sendBinary([0, 1, 255]);
      const bin = await c.next();
      assert.equal(bin.type, 'binary');
      assert.deepEqual([...bin.data], [0, 1, 255]);
      c.sendText('json');
      assert.deepEqual(JSON.parse(await c.nextText()), { echo: 'json', greeted: true });
      c.sendText('order');
      assert.equal(await c.nextText(), 'one');
      const two = await c.next();
      assert.equal(two.type, 'binary');
      assert.equal(two.data.toString(), 'two');
      assert.equal(await c.nextText(), 'three');
      const wait = closed.next;
      c.close(1000, 'done');
      assert.equal((await c.next()).code, 1000); // the core answers the client's code
      await wait;
      assert.deepEqual(closes.at(-1), [1000, 'done']);
      await assert.rejects(lateSend, (e) => e instanceof WebSocketError && e.code === 'SPIKARD_ECLOSED');
    });

    test('ws.close sends the code and reason; onClose sees the close', async () => {
      const c = await wsConnect(`ws://127.0.0.1:${app.port}/echo/a`);
      await c.nextText();
      const wait = closed.next;
      c.sendText('bye');
      assert.deepEqual(await c.next(), { type: 'close', code: 4001, reason: 'see you' });
      await wait;
      assert.equal(closes.at(-1)[0], 4001);
    });

    test('a callback that throws or rejects closes with 1011; the server goes on', async () => {
      for (const what of ['throw', 'reject']) {
        const c = await wsConnect(`ws://127.0.0.1:${app.port}/echo/b`);
        await c.nextText();
        const wait = closed.next;
        c.sendText(what);
        const m = await c.next();
        assert.equal(m.type, 'close');
        assert.equal(m.code, 1011, what);
        await wait;
      }
      const c = await wsConnect(`ws://127.0.0.1:${app.port}/open-throws`);
      assert.equal((await c.next()).code, 1011);
      const ok = await wsConnect(`ws://127.0.0.1:${app.port}/echo/c`);
      await ok.nextText();
      ok.sendText('still here');
      assert.equal(await ok.nextText(), 'still here');
      ok.close();
      await ok.next();
    });

    test('the core refuses what it must before any callback: size, parameters, non-upgrade', async () => {
      const c = await wsConnect(`ws://127.0.0.1:${app.port}/echo/d`);
      await c.nextText();
      c.sendText('x'.repeat(2000));
      assert.equal((await c.next()).code, 1009);
      await assert.rejects(wsConnect(`ws://127.0.0.1:${app.port}/nowhere`), (e) => e.status === 404);
      const r = await app.inject('/echo/plain');
      assert.equal(r.statusCode, 426);
    });
  });
}

describe('WebSocket routes of a configuration document', () => {
  const doc = {
    version: 1,
    routes: [{ method: 'GET', path: '/chat', handler: 'chat', websocket: { message_schema: { type: 'object', required: ['text'] } } }],
  };

  test('handleWebSocket binds the callbacks; the core validates messages', async () => {
    const app = Spikard.fromConfig(doc);
    app.handleWebSocket('chat', { onMessage: (ws, msg) => ({ got: JSON.parse(msg).text }) });
    const url = await app.listen(0);
    try {
      const c = await wsConnect(`${url.replace('http', 'ws')}/chat`);
      c.sendText('{"text":"hi"}');
      assert.deepEqual(JSON.parse(await c.nextText()), { got: 'hi' });
      c.sendText('{"nope":1}');
      const problem = JSON.parse(await c.nextText());
      assert.equal(problem.type, 'https://spikard.dev/errors/validation-error');
      c.close();
      await c.next();
    } finally {
      await app.close();
    }
  });

  test('a WebSocket route bound with handle() is refused at listen, and the other way round', async () => {
    const a = Spikard.fromConfig(doc);
    a.handle('chat', () => 'x');
    await assert.rejects(a.listen(0), /handleWebSocket/);
    const b = Spikard.fromConfig({ version: 1, routes: [{ method: 'GET', path: '/x', handler: 'x' }] });
    b.handleWebSocket('x', {});
    await assert.rejects(b.listen(0), /no WebSocket route/);
  });
});
