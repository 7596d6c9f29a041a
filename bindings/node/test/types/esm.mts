// Typed examples: compiled with `tsc -p test/types/tsconfig.json` (no
// emit) by test/types.test.mjs. Request types are inferred from the Zod
// schemas; each @ts-expect-error line must fail to compile.
import { Spikard, HttpError, SSEEventError, WebSocketError, type SpikardRequest, type Reply, type InjectResponse, type SSEEvent, type WebSocketConnection } from 'spikard';
import { Readable } from 'node:stream';
import DefaultSpikard from 'spikard';
import { z } from 'zod';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

const app = new Spikard({ server: { handler_timeout_ms: 5000 }, middleware: { compression: { min_size: 1024 } }, openapi: true });
const same: typeof Spikard = DefaultSpikard;
void same;

const User = z.object({ id: z.number().int(), name: z.string(), email: z.email().optional() });

app.get(
  '/users/:id',
  {
    params: z.object({ id: z.coerce.number().int().min(1) }),
    query: z.object({ expand: z.enum(['posts', 'none']).default('none'), limit: z.coerce.number().optional() }),
    headers: z.object({ 'x-tenant': z.string() }),
    cookies: z.object({ session: z.string() }),
    response: User,
  },
  async (req) => {
    expectType<Equal<typeof req.params, { id: number }>>(true);
    expectType<Equal<typeof req.query, { expand: 'posts' | 'none'; limit?: number | undefined }>>(true);
    const tenant: string = req.headers['x-tenant'];
    const ua = req.headers['user-agent']; // every other header is there too
    expectType<Equal<typeof ua, string | string[] | undefined>>(true);
    const session: string = req.cookies.session;
    void tenant;
    void session;
    // @ts-expect-error: id is a number
    const wrong: string = req.params.id;
    void wrong;
    if (req.params.id > 1000) throw new HttpError(404, 'no such user');
    return { id: req.params.id, name: 'Ada' }; // checked against the response schema
  },
);

app.post(
  '/users',
  { body: z.object({ name: z.string(), tags: z.array(z.string()).default([]) }), response: User },
  async (req, reply: Reply) => {
    // bodies have the schema's input type: the core validates, it fills no defaults
    expectType<Equal<typeof req.body, { name: string; tags?: string[] | undefined }>>(true);
    reply.code(201).header('location', '/users/1');
    return { status: 201, headers: { 'x-created': '1' }, body: { id: 1, name: req.body.name } };
  },
);

// @ts-expect-error: the answer breaks the response schema (name must be a string)
app.get('/bad', { response: User }, () => ({ id: 1, name: 2 }));

// Plain JSON Schema works too; its values are untyped.
app.get('/items/:n', { params: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }, (req) => {
  expectType<Equal<typeof req.params, Record<string, string>>>(true);
  return req.params;
});

// No options: strings, Buffers, Responses, nothing.
app.get('/text', () => 'hello');
app.get('/bytes', () => Buffer.from('x'));
app.get('/fetch', () => new Response('x', { status: 202 }));
app.get('/nothing', () => undefined);
app.get('/bg', (req: SpikardRequest) => {
  req.background(async () => undefined);
  return { queued: true };
});
app.provide('config', { db: 'x' });
app.provide('pool', (deps) => ({ dsn: deps.config.db }), { dependsOn: ['config'], singleton: true, cleanup: async () => undefined });
app.addHook('preHandler', (req, reply) => {
  const phase: string | undefined = req.call?.phase;
  void phase;
  req.set('user', { id: 1 });
  reply.header('x-hook', '1');
});
app.addHook('onResponse', () => undefined, { name: 'noop', config: { a: 1 } });
// @ts-expect-error: not a phase
app.addHook('beforeEverything', () => undefined);
app.get('/hooked', { preHandler: [(req) => (req.header('x') ? undefined : { status: 401, body: 'no' })] }, () => 'ok');
app.get('/deps', { inject: ['config'] }, (req) => req.deps);

// Streams: async generators, Node Readables, web ReadableStreams, in a response object too.
app.get('/export', async function* () {
  yield 'a,b\n';
  yield Buffer.from('1,2\n');
});
app.get('/readable', () => Readable.from(['x', 'y']));
app.get('/web', () => new ReadableStream<Uint8Array>({ start: (c) => c.close() }));
app.get('/partial', (req, reply) => {
  reply.type('application/x-ndjson');
  return { status: 206, body: Readable.from(['{}\n']) };
});

// Server-Sent Events: an async generator of events on an `sse` route.
const Tick = z.object({ n: z.number().int() });
app.get('/events', { sse: { eventSchema: Tick, keepAliveMs: 15000, retryMs: 3000 } }, async function* (req): AsyncGenerator<SSEEvent<z.infer<typeof Tick>> | string> {
  const last: string | undefined = req.lastEventId;
  void last;
  try {
    yield { event: 'tick', data: { n: 1 }, id: 1, retry: 1000, comment: 'first' };
  } catch (e) {
    if (!(e instanceof SSEEventError)) throw e; // the schema refused it: go on
  }
  yield 'plain text data';
});
// @ts-expect-error: sse options are an object or a boolean
app.get('/sse-bad', { sse: 'yes' }, async function* () {});

// WebSockets: typed parameters, sync or async callbacks, answers returned or sent.
app.ws('/chat/:room', { params: z.object({ room: z.string() }), messageSchema: Tick, subprotocols: ['chat.v1'], maxMessageBytes: 1 << 16 }, {
  onOpen(ws, req) {
    const room: string = ws.params.room;
    const agent: string | undefined = req.header('user-agent');
    ws.data.joined = Date.now();
    void ws.sendJson({ room, agent });
  },
  async onMessage(ws: WebSocketConnection<{ room: string }>, msg) {
    if (typeof msg === 'string') return { echo: JSON.parse(msg) as unknown };
    await ws.send(msg); // a Buffer: binary
    return undefined;
  },
  onClose(ws, code, reason) {
    const c: number = code;
    const r: string = reason;
    void c;
    void r;
  },
});
app.ws('/plain', {
  onMessage: async (ws, msg) => {
    try {
      await ws.send('pong');
    } catch (e) {
      if (e instanceof WebSocketError && e.code === 'SPIKARD_ECLOSED') return undefined;
      throw e;
    }
    return msg;
  },
});
// @ts-expect-error: ws.send takes strings or bytes (ws.sendJson takes values)
app.ws('/bad-send', { onMessage: (ws) => ws.send({ a: 1 }) });

const fromDoc = Spikard.fromConfig({ version: 1, routes: [{ method: 'GET', path: '/', handler: 'root' }] });
fromDoc.handle('root', (req) => req.valuesJSON);
fromDoc.handleWebSocket('chat', { onMessage: (ws, msg) => msg });

export async function main(): Promise<void> {
  const url: string = await app.listen({ port: 0, host: '127.0.0.1' });
  const r: InjectResponse = await app.inject({ method: 'POST', url: '/users', body: { name: 'Ada' } });
  const u = r.json<{ id: number }>();
  const id: number = u.id;
  void url;
  void id;
  await app.close({ timeoutMs: 1000 });
}
