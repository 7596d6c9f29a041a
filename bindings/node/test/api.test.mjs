// The public API over real sockets: routes, Zod and JSON Schema validation in
// the core, answers of every shape, errors, lifecycle, background tasks,
// dependencies, both dispatch modes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { z } from 'zod';
import { Spikard, HttpError, SchemaError, SpikardRequest, Reply, libraryVersion, abiVersion } from 'spikard';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const dispatch of ['poll', 'callback']) {
  describe(`dispatch ${dispatch}`, () => {
    const app = new Spikard({ dispatch });
    let calls = 0;

    app.get('/json', () => ({ message: 'Hello, World!' }));
    app.get('/text', () => 'plain words');
    app.get('/bytes', () => Buffer.from([0, 1, 2, 255]));
    app.get('/typed', () => new Uint16Array([1, 2]));
    app.get('/empty', () => undefined);
    app.get('/null', () => null);
    app.get('/array', async () => [1, 'two', { three: 3 }]);
    app.get('/response-like', () => ({ status: 201, headers: { 'x-one': '1', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] }, body: { created: true } }));
    app.get('/status-object', () => ({ status: 'ok', count: 2 })); // a JSON body, not a response
    app.get('/whatwg', () => new Response('from fetch', { status: 202, headers: { 'x-fetch': 'yes', 'content-type': 'text/x-custom' } }));
    app.get('/reply', (req, reply) => {
      reply.code(203).header('x-two', 2).type('text/csv').cookie('session', 'a b', { httpOnly: true, sameSite: 'lax', maxAge: 60 });
      return 'a,b\n1,2\n';
    });
    app.get('/reply-send', async (req, reply) => {
      reply.status(200).send({ early: true });
      return { late: true };
    });
    app.get('/redirect', (req, reply) => reply.redirect('/json', 307));
    app.get('/users/:id', { params: z.object({ id: z.coerce.number().int().min(1) }) }, (req) => ({ id: req.params.id, type: typeof req.params.id }));
    app.get('/typed-segment/{id:int}', (req) => ({ id: req.params.id }));
    app.get(
      '/search',
      {
        query: z.object({ q: z.string().min(2), limit: z.coerce.number().int().max(100).default(10), tags: z.array(z.string()).optional() }),
        headers: z.object({ 'x-api-key': z.string() }),
        cookies: z.object({ session: z.string().optional() }),
      },
      (req) => ({ query: req.query, key: req.headers['x-api-key'], ua: req.headers['user-agent'], session: req.cookies.session ?? null }),
    );
    app.get('/json-schema/:n', { params: { type: 'object', properties: { n: { type: 'integer', maximum: 5 } }, required: ['n'] } }, (req) => ({ n: req.params.n }));
    app.get('/declared-map', { query: { page: { type: 'integer', default: 1 }, q: { type: 'string', optional: true } } }, (req) => req.query);
    const Item = z.object({ name: z.string().min(1), price: z.number().nonnegative(), tags: z.array(z.string()).default([]) });
    app.post('/items', { body: Item, response: z.object({ id: z.number(), name: z.string(), price: z.number(), tags: z.array(z.string()) }) }, async (req, reply) => {
      reply.code(201).header('location', '/items/7');
      return { id: 7, tags: [], ...req.body }; // the core fills defaults of parameters, not of bodies
    });
    app.post('/breaks-response', { response: z.object({ id: z.number() }) }, () => ({ id: 'not a number' }));
    app.post('/raw', (req) => ({ body: req.body, raw: req.rawBody.toString('latin1'), len: req.rawBody.length }));
    app.put('/form', (req) => ({ body: req.body }));
    app.delete('/things/:id', (req) => ({ deleted: req.params.id, method: req.method }));
    app.patch('/things/:id', (req) => ({ patched: req.params.id }));
    app.get('/fields', (req) => ({ method: req.method, path: req.path, url: req.url, qs: req.querystring, id: req.id, query: req.query, cookies: req.cookies, host: req.header('HOST') }));
    app.get('/throw', () => {
      throw new Error('handler exploded');
    });
    app.get('/reject', async () => {
      await sleep(1);
      throw new TypeError('async handler exploded');
    });
    app.get('/throw-string', () => {
      throw 'a string';
    });
    app.get('/http-error', () => {
      throw new HttpError(409, 'Conflict here', { detail: 'the item exists', headers: { 'x-why': 'dup' }, extensions: { item: 3 } });
    });
    app.get('/status-code-error', () => {
      throw Object.assign(new Error('Nope'), { statusCode: 403 });
    });
    app.get('/bad-header', () => ({ status: 200, headers: { 'x-bad': 'a\nb: c\n\n' }, body: 'x' }));
    app.get('/slow', async () => {
      await sleep(50);
      calls++;
      return { slow: true };
    });
    app.get('/after-answer', async (req) => {
      await sleep(1);
      return { ok: true };
    });
    app.get('/unserializable', () => {
      const o = {};
      o.self = o;
      return o;
    });

    before(async () => {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    });
    after(() => app.close());

    test('JSON, text, bytes, empty and null answers', async () => {
      let r = await app.inject('/json');
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(r.json(), { message: 'Hello, World!' });
      r = await app.inject('/text');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(r.body, 'plain words');
      r = await app.inject('/bytes');
      assert.equal(r.headers['content-type'], 'application/octet-stream');
      assert.deepEqual([...r.rawPayload], [0, 1, 2, 255]);
      r = await app.inject('/typed');
      assert.equal(r.rawPayload.length, 4);
      r = await app.inject('/empty');
      assert.equal(r.statusCode, 204);
      assert.equal(r.body, '');
      r = await app.inject('/null');
      assert.equal(r.statusCode, 200);
      assert.equal(r.body, 'null');
      r = await app.inject('/array');
      assert.deepEqual(r.json(), [1, 'two', { three: 3 }]);
    });

    test('response-like objects and WHATWG Responses', async () => {
      let r = await app.inject('/response-like');
      assert.equal(r.statusCode, 201);
      assert.equal(r.headers['x-one'], '1');
      assert.deepEqual(r.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
      assert.deepEqual(r.json(), { created: true });
      r = await app.inject('/status-object');
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { status: 'ok', count: 2 });
      r = await app.inject('/whatwg');
      assert.equal(r.statusCode, 202);
      assert.equal(r.headers['x-fetch'], 'yes');
      assert.equal(r.headers['content-type'], 'text/x-custom');
      assert.equal(r.body, 'from fetch');
    });

    test('the reply sets status, headers, type and cookies', async () => {
      let r = await app.inject('/reply');
      assert.equal(r.statusCode, 203);
      assert.equal(r.headers['x-two'], '2');
      assert.equal(r.headers['content-type'], 'text/csv');
      assert.equal(r.body, 'a,b\n1,2\n');
      assert.equal(r.cookies[0].name, 'session');
      assert.equal(r.cookies[0].value, 'a%20b');
      assert.equal(r.cookies[0].httponly, true);
      assert.equal(r.cookies[0].samesite, 'Lax');
      assert.equal(r.cookies[0]['max-age'], '60');
      r = await app.inject('/reply-send');
      assert.deepEqual(r.json(), { early: true });
      r = await app.inject('/redirect');
      assert.equal(r.statusCode, 307);
      assert.equal(r.headers.location, '/json');
    });

    test('path parameters are validated and coerced by the core', async () => {
      let r = await app.inject('/users/42');
      assert.deepEqual(r.json(), { id: 42, type: 'number' });
      r = await app.inject('/users/0');
      assert.equal(r.statusCode, 422);
      assert.equal(r.headers['content-type'], 'application/problem+json');
      const p = r.json();
      assert.equal(p.status, 422);
      assert.deepEqual(p.errors[0].loc, ['path', 'id']);
      r = await app.inject('/users/abc');
      assert.equal(r.statusCode, 422);
      r = await app.inject('/typed-segment/7');
      assert.deepEqual(r.json(), { id: 7 });
      r = await app.inject('/json-schema/3');
      assert.deepEqual(r.json(), { n: 3 });
      r = await app.inject('/json-schema/9');
      assert.equal(r.statusCode, 422);
    });

    test('query, headers and cookies schemas: defaults, arrays, requirements', async () => {
      let r = await app.inject({ url: '/search', query: { q: 'shoes', tags: ['a', 'b'] }, headers: { 'x-api-key': 'k1', 'user-agent': 'tests' }, cookies: { session: 's1' } });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { query: { q: 'shoes', limit: 10, tags: ['a', 'b'] }, key: 'k1', ua: 'tests', session: 's1' });
      r = await app.inject({ url: '/search?q=shoes&limit=500', headers: { 'x-api-key': 'k1' } });
      assert.equal(r.statusCode, 422);
      assert.deepEqual(r.json().errors[0].loc, ['query', 'limit']);
      r = await app.inject({ url: '/search?q=shoes' });
      assert.equal(r.statusCode, 422);
      assert.equal(r.json().errors[0].loc[0], 'headers');
      r = await app.inject('/declared-map');
      assert.deepEqual(r.json(), { page: 1 });
    });

    test('JSON bodies are validated, response schemas enforced', async () => {
      let r = await app.inject({ method: 'POST', url: '/items', body: { name: 'widget', price: 9.5 } });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.headers.location, '/items/7');
      assert.deepEqual(r.json(), { id: 7, name: 'widget', price: 9.5, tags: [] });
      r = await app.inject({ method: 'POST', url: '/items', body: { name: '', price: -1 } });
      assert.equal(r.statusCode, 422);
      assert.equal(r.json().errors.length, 2);
      r = await app.inject({ method: 'POST', url: '/items', body: '{"name": "x", "price": ', headers: { 'content-type': 'application/json' } });
      assert.equal(r.statusCode, 400);
      r = await app.inject({ method: 'POST', url: '/breaks-response', body: {} });
      assert.equal(r.statusCode, 500);
    });

    test('bodies without a schema are decoded by content type', async () => {
      let r = await app.inject({ method: 'POST', url: '/raw', body: { a: [1, 2] } });
      assert.deepEqual(r.json(), { body: { a: [1, 2] }, raw: '{"a":[1,2]}', len: 11 });
      r = await app.inject({ method: 'POST', url: '/raw', body: 'hello', headers: { 'content-type': 'text/plain' } });
      assert.deepEqual(r.json().body, 'hello');
      r = await app.inject({ method: 'PUT', url: '/form', body: 'a=1&b=x+y&a=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.deepEqual(r.json().body, { a: ['1', '2'], b: 'x y' });
    });

    test('other methods and request fields', async () => {
      let r = await app.inject({ method: 'DELETE', url: '/things/x1' });
      assert.deepEqual(r.json(), { deleted: 'x1', method: 'DELETE' });
      r = await app.inject({ method: 'PATCH', url: '/things/x2' });
      assert.deepEqual(r.json(), { patched: 'x2' });
      r = await app.inject({ url: '/fields?a=1&a=2&b=%20x', headers: { 'x-request-id': 'rid-1', cookie: 'c1=v1; c2="q%20v"' } });
      const f = r.json();
      assert.equal(f.method, 'GET');
      assert.equal(f.path, '/fields');
      assert.equal(f.url, '/fields?a=1&a=2&b=%20x');
      assert.equal(f.qs, 'a=1&a=2&b=%20x');
      assert.equal(f.id, 'rid-1');
      assert.deepEqual(f.query, { a: ['1', '2'], b: ' x' });
      assert.deepEqual(f.cookies, { c1: 'v1', c2: 'q v' });
      assert.match(f.host, /^127\.0\.0\.1:\d+$/);
      r = await app.inject({ method: 'PUT', url: '/json' });
      assert.equal(r.statusCode, 405);
      r = await app.inject('/nowhere');
      assert.equal(r.statusCode, 404);
    });

    test('a failing handler answers a 500 problem and the server keeps serving', async () => {
      for (const path of ['/throw', '/reject', '/throw-string', '/unserializable', '/bad-header']) {
        const r = await app.inject(path);
        assert.equal(r.statusCode, 500, path);
        assert.equal(r.headers['content-type'], 'application/problem+json');
        assert.equal(r.json().status, 500);
        assert.doesNotMatch(r.body, /exploded/); // the message is logged, never sent
        assert.ok(r.headers['x-request-id']);
      }
      const ok = await app.inject('/json');
      assert.equal(ok.statusCode, 200);
    });

    test('HttpError and errors with a statusCode answer their status', async () => {
      let r = await app.inject('/http-error');
      assert.equal(r.statusCode, 409);
      assert.equal(r.headers['x-why'], 'dup');
      assert.deepEqual(r.json(), { type: 'about:blank', title: 'Conflict here', status: 409, detail: 'the item exists', item: 3 });
      r = await app.inject('/status-code-error');
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().title, 'Nope');
    });

    test('concurrent asynchronous handlers are all answered', async () => {
      const before = calls;
      const rs = await Promise.all(Array.from({ length: 40 }, () => app.inject('/slow')));
      assert.ok(rs.every((r) => r.statusCode === 200));
      assert.equal(calls - before, 40);
    });
  });
}

describe('lifecycle', () => {
  test('listen, close, listen errors, the port is released', async () => {
    const app = new Spikard();
    app.get('/', () => 'up');
    assert.equal(app.listening, false);
    await app.listen(0);
    assert.equal(app.listening, true);
    const port = app.port;
    assert.ok(port > 0);
    await assert.rejects(app.listen(0), /already listening/);
    assert.throws(() => app.get('/late', () => 1), /already listening/);
    assert.equal((await app.inject('/')).body, 'up');
    const other = new Spikard();
    other.get('/', () => 'x');
    await assert.rejects(other.listen({ port, host: '127.0.0.1' }), (e) => e.code === 'SPIKARD_EIO');
    await app.close();
    assert.equal(app.listening, false);
    await app.close(); // twice is harmless
    await assert.rejects(
      new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)),
      /ECONNREFUSED/,
    );
  });

  test('close is graceful: in-flight requests are answered', async () => {
    const app = new Spikard();
    let started;
    const inside = new Promise((r) => (started = r));
    app.get('/slow', async () => {
      started();
      await sleep(100);
      return { finished: true };
    });
    await app.listen(0);
    const pending = app.inject('/slow');
    await inside;
    await app.close({ timeoutMs: 5000 });
    const r = await pending;
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { finished: true });
  });

  test('requests still open when the grace period ends get 503', async () => {
    const app = new Spikard();
    let started;
    const inside = new Promise((r) => (started = r));
    let release;
    const gate = new Promise((r) => (release = r));
    app.get('/stuck', async () => {
      started();
      await gate;
      return 'too late';
    });
    await app.listen(0);
    const pending = app.inject('/stuck');
    await inside;
    await app.close({ timeoutMs: 0 });
    const r = await pending;
    assert.equal(r.statusCode, 503);
    release(); // the late answer is refused quietly
    await sleep(5);
  });

  test('the handler timeout answers 504 (server.handler_timeout_ms)', async () => {
    const app = new Spikard({ server: { handler_timeout_ms: 50 } });
    let release;
    const gate = new Promise((r) => (release = r));
    app.get('/never', async () => {
      await gate;
      return 'late';
    });
    await app.listen(0);
    const r = await app.inject('/never');
    assert.equal(r.statusCode, 504);
    release();
    await app.close();
  });

  test('configuration errors are reported by listen', async () => {
    const app = new Spikard();
    app.get('/a/{id:int}', () => 1);
    app.get('/a/{name}', () => 2);
    await assert.rejects(app.listen(0), (e) => e.code === 'SPIKARD_ECONFIG' && /a\//.test(e.message));
    const bad = new Spikard();
    bad.get('/x', { query: { n: { type: 'nonsense' } } }, () => 1);
    await assert.rejects(bad.listen(0), (e) => e.code === 'SPIKARD_ECONFIG');
  });

  test('reading raw fields after the answer fails clearly', async () => {
    const app = new Spikard();
    let kept;
    app.get('/keep', (req) => {
      kept = req;
      return 'ok';
    });
    await app.listen(0);
    await app.inject('/keep');
    assert.throws(() => kept.rawHeaders, (e) => e.code === 'SPIKARD_ESTATE' && /already answered/.test(e.message));
    await app.close();
  });
});

describe('background tasks, dependencies, configuration documents', () => {
  test('background tasks run after the response; close waits for them', async () => {
    const app = new Spikard();
    const log = [];
    let release;
    const gate = new Promise((r) => (release = r));
    app.post('/events', { body: z.object({ value: z.string() }) }, (req) => {
      req.background(async () => {
        await gate;
        log.push(req.body.value);
      });
      req.background(() => {
        throw new Error('a failing task is only logged');
      });
      log.push('handler');
      return { accepted: true };
    });
    app.get('/log', () => ({ log }));
    await app.listen(0);
    const r = await app.inject({ method: 'POST', url: '/events', body: { value: 'v1' } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(log, ['handler']); // the task waits for the gate
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await sleep(10);
    assert.equal(closed, false); // close waits for the task
    release();
    await closing;
    assert.deepEqual(log, ['handler', 'v1']);
  });

  test('value dependencies are injected', async () => {
    const app = new Spikard();
    app.provide('config', { db: 'postgres://x', pool: 5 });
    app.provide('greeting', 'hello');
    app.get('/deps', { inject: ['config', 'greeting'] }, (req) => req.deps);
    await app.listen(0);
    const r = await app.inject('/deps');
    assert.deepEqual(r.json(), { config: { db: 'postgres://x', pool: 5 }, greeting: 'hello' });
    await app.close();
  });

  test('lifecycle hooks: state, short-circuits, response decoration, errors', async () => {
    const app = new Spikard();
    const seen = [];
    app.addHook('onRequest', function stamp(req, reply) {
      seen.push(req.call.phase);
      req.set('started', 'yes');
      reply.header('x-stamp', '1');
    });
    app.addHook('preValidation', (req) => {
      if (req.header('x-legacy-tenant')) req.setHeader('x-tenant', req.header('x-legacy-tenant'));
    });
    app.addHook('preHandler', (req) => {
      if (req.header('authorization') !== 'Bearer ok') return { status: 401, body: { error: 'unauthorized' } };
    }, { name: 'auth', config: { realm: 'api' } });
    app.addHook('onResponse', (req, reply) => {
      reply.header('x-frame-options', 'DENY').header('x-status-seen', req.call.response.status);
    });
    app.addHook('onError', (req) => ({ status: 503, body: { replaced: req.call.error.status } }));
    app.get('/me', { headers: z.object({ 'x-tenant': z.string() }) }, (req) => ({ state: req.state, tenant: req.headers['x-tenant'] }));
    app.get('/fail', () => {
      throw new Error('fails for the onError hook');
    });
    app.get('/route-hook', { preHandler: (req) => ({ status: 418, body: 'teapot' }) }, () => 'never');
    await app.listen(0);
    const ok = { authorization: 'Bearer ok' };
    let r = await app.inject({ url: '/me', headers: { ...ok, 'x-tenant': 't1' } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { state: { started: 'yes' }, tenant: 't1' });
    assert.equal(r.headers['x-stamp'], '1');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['x-status-seen'], '200');
    assert.deepEqual(seen, ['on_request']);
    r = await app.inject({ url: '/me', headers: { ...ok, 'x-legacy-tenant': 't2' } });
    assert.equal(r.json().tenant, 't2'); // changed before validation
    r = await app.inject({ url: '/me', headers: { 'x-tenant': 't1' } });
    assert.equal(r.statusCode, 401);
    assert.deepEqual(r.json(), { error: 'unauthorized' });
    assert.equal(r.headers['x-frame-options'], 'DENY'); // on_response runs after a short-circuit
    r = await app.inject({ url: '/me', headers: ok });
    assert.equal(r.statusCode, 422); // the core's problem, decorated too
    assert.equal(r.headers['x-frame-options'], 'DENY');
    r = await app.inject({ url: '/fail', headers: ok });
    assert.equal(r.statusCode, 503);
    assert.deepEqual(r.json(), { replaced: 500 });
    r = await app.inject({ url: '/route-hook', headers: ok });
    assert.equal(r.statusCode, 418);
    assert.equal(r.body, 'teapot');
    await app.close();
  });

  test('dependency factories: dependsOn, singleton, per request, cleanup, refusal', async () => {
    const app = new Spikard();
    const events = [];
    let pools = 0;
    app.provide('config', { dsn: 'db://x' });
    app.provide('pool', (deps) => ({ id: ++pools, dsn: deps.config.dsn }), {
      dependsOn: ['config'],
      singleton: true,
      cleanup: (v) => events.push(`pool ${v.id} closed`),
    });
    app.provide(
      'session',
      async (deps, req) => {
        if (!req.header('authorization')) throw new HttpError(401, 'no session');
        await sleep(1);
        return { user: 'ada', pool: deps.pool.id };
      },
      { dependsOn: ['pool'], perRequest: true, cleanup: (v) => events.push(`session ${v.user} closed`) },
    );
    app.provide('name', () => 'a plain string value');
    app.get('/whoami', { inject: ['session', 'pool'] }, (req) => req.deps);
    app.get('/name', { inject: ['name'] }, (req) => req.deps);
    await app.listen(0);
    for (let i = 0; i < 2; i++) {
      const r = await app.inject({ url: '/whoami', headers: { authorization: 'x' } });
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { session: { user: 'ada', pool: 1 }, pool: { id: 1, dsn: 'db://x' } });
    }
    assert.deepEqual((await app.inject('/name')).json(), { name: 'a plain string value' });
    const refused = await app.inject('/whoami');
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().title, 'no session');
    await app.close();
    assert.equal(pools, 1);
    assert.deepEqual(events, ['session ada closed', 'session ada closed', 'pool 1 closed']);
  });

  test('openapi() describes the routes without listening', () => {
    const app = new Spikard({ openapi: { title: 'Docs', version: '1.2.3' } });
    app.post('/items', { body: z.object({ name: z.string() }), summary: 'Create' }, () => ({}));
    const doc = app.openapi();
    assert.equal(doc.openapi.startsWith('3.1'), true);
    assert.equal(doc.info.version, '1.2.3');
    assert.equal(doc.paths['/items'].post.summary, 'Create');
  });

  test('fromConfig + handle: the document as the core reads it', async () => {
    const app = Spikard.fromConfig({
      version: 1,
      routes: [{ method: 'get', path: '/items/{id:int}', handler: 'get_item', parameters: { query: { q: { type: 'string', optional: true } } } }],
    });
    app.handle('get_item', (req) => ({ values: req.values, json: JSON.parse(req.valuesJSON) }));
    await assert.rejects(Spikard.fromConfig({ version: 1, routes: [{ method: 'GET', path: '/', handler: 'h' }] }).listen(0), /handler "h"/);
    await app.listen(0);
    const r = await app.inject('/items/5?q=z');
    assert.deepEqual(r.json(), { values: { path: { id: 5 }, query: { q: 'z' } }, json: { path: { id: 5 }, query: { q: 'z' } } });
    assert.equal(app.coreDocument().routes[0].method, 'GET');
    await app.close();
  });

  test('middleware and OpenAPI options reach the core', async () => {
    const app = new Spikard({
      middleware: { cors: { allowed_origins: ['https://app.example.com'] } },
      openapi: { title: 'Shop', version: '2.0.0' },
    });
    app.get('/users/:id', { params: z.object({ id: z.coerce.number().int() }), summary: 'One user', tags: ['users'] }, (req) => ({ id: req.params.id }));
    await app.listen(0);
    let r = await app.inject({ url: '/users/1', headers: { origin: 'https://app.example.com' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    r = await app.inject({ url: '/users/1', headers: { origin: 'https://evil.example.com' } });
    assert.equal(r.statusCode, 403);
    r = await app.inject('/openapi.json');
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.equal(doc.info.title, 'Shop');
    assert.equal(doc.paths['/users/{id}'].get.summary, 'One user');
    await app.close();
  });

  test('schemas that JSON Schema cannot express are refused at registration', () => {
    const app = new Spikard();
    assert.throws(() => app.get('/t', { query: z.object({ n: z.string().transform((s) => s.length) }) }, () => 1), SchemaError);
    assert.throws(() => app.get('/u', { body: 42 }, () => 1), SchemaError);
    assert.throws(() => app.get('/v', 'not a handler'), TypeError);
  });
});

test('exports', () => {
  assert.equal(typeof libraryVersion, 'string');
  assert.equal(abiVersion, 2);
  assert.equal(typeof SpikardRequest, 'function');
  assert.equal(typeof Reply, 'function');
});
