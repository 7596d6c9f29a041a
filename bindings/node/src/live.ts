// Streamed answers, Server-Sent Events and WebSockets.
//
// The calls that may block (a stream write or an event to a slow client, a
// WebSocket send) never run on the main thread: the addon queues them per
// stream / connection and runs them on writer threads (src/addon.c,
// "writers"). What JavaScript waits for comes back as a numbered result
// ("ticket"). A stream's producer is pulled one item at a time: a chunk is
// queued and the next one pulled at once while the stream's queue holds less
// than HIGH_WATER bytes; above that the producer waits until the queue went
// out. An event waits for its own result, so that an event the route's schema
// rejects is reported at its own yield.
import { native, OK, EINVAL, F_BODY, F_METHOD, KIND_WS_CLOSE, KIND_WS_MESSAGE, KIND_WS_OPEN, codeName, type Chunk } from './native';
import { SSEEventError, WebSocketError } from './errors';
import { SpikardRequest, type TaskRunner, type Values } from './request';

/** Bytes a stream may queue in the addon before its producer waits. */
const HIGH_WATER = 64 * 1024;

// ---- results of queued calls ---------------------------------------------

type Result = [code: number, message: string | undefined];

const waiting = new Map<number, (r: Result) => void>();
let nextTicket = 1;
let started = false;

function onDone(results: (number | string | undefined)[]): void {
  for (let i = 0; i < results.length; i += 3) {
    const t = results[i] as number;
    const resolve = waiting.get(t);
    if (resolve) {
      waiting.delete(t);
      resolve([results[i + 1] as number, results[i + 2] as string | undefined]);
    }
  }
}

/** Queues a call with a new ticket and resolves with its result. */
function call(queue: (ticket: number) => number): Promise<Result> {
  if (!started) {
    native.liveInit(onDone);
    started = true;
  }
  const t = nextTicket++;
  return new Promise<Result>((resolve) => {
    const rc = queue(t);
    if (rc !== OK) resolve([rc, undefined]); // not queued: no result will come
    else waiting.set(t, resolve);
  });
}

// ---- streamed bodies -----------------------------------------------------

/** A chunk of a streamed body: text is sent as UTF-8. */
export type StreamChunk = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * What a handler may return to stream its body: an async iterable (an async
 * generator, a Node Readable, a web ReadableStream) or a generator of
 * chunks, or of events on an event-stream route.
 */
export type StreamSource<T = StreamChunk> = AsyncIterable<T> | Iterator<T> | ReadableStream<T>;

/**
 * One Server-Sent Event. `data` is sent as it is when it is a string (each
 * line a data field), as JSON text otherwise; without data the event only
 * sets the id or the retry delay (clients do not dispatch it). `retry` is
 * the client's reconnection delay in milliseconds; `comment` lines are sent
 * first and ignored by clients.
 */
export interface SSEEvent<T = unknown> {
  event?: string;
  data?: T;
  id?: string | number;
  retry?: number;
  comment?: string;
}

const EVENT_KEYS = new Set(['event', 'data', 'id', 'retry', 'comment']);

/** Whether a handler's answer is a stream source (not a body to send whole). */
export function isStreamSource(v: unknown): v is StreamSource<unknown> {
  if (v === null || typeof v !== 'object') return false;
  if (typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function') return true;
  return Object.prototype.toString.call(v) === '[object Generator]';
}

type AnyIterator = {
  next(): unknown;
  return?(value?: unknown): unknown;
  throw?(e?: unknown): unknown;
};

function iteratorOf(source: StreamSource<unknown>): AnyIterator {
  const s = source as { [Symbol.asyncIterator]?: () => AnyIterator };
  if (typeof s[Symbol.asyncIterator] === 'function') return s[Symbol.asyncIterator]!();
  return source as AnyIterator;
}

function isChunk(v: unknown): v is Chunk {
  return typeof v === 'string' || ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
}

function chunkLength(v: Chunk): number {
  return typeof v === 'string' ? v.length : v.byteLength;
}

/** The addon's arguments for one event: event, data, id, comment, retry. */
function eventArgs(v: unknown): [string | undefined, Chunk | undefined, string | undefined, string | undefined, number] {
  if (typeof v === 'string') return [undefined, v, undefined, undefined, 0];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TypeError(`an event stream yields events ({ event, data, id, retry, comment }) or strings (the data), not ${describe(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!EVENT_KEYS.has(k)) {
      throw new TypeError(`an event has the members event, data, id, retry and comment, not "${k}": to send an object, yield { data: object }`);
    }
  }
  const e = v as SSEEvent;
  let data: Chunk | undefined;
  if (e.data === undefined || e.data === null) data = undefined;
  else if (isChunk(e.data)) data = e.data;
  else data = JSON.stringify(e.data);
  const retry = e.retry === undefined ? 0 : Number(e.retry);
  if (!Number.isFinite(retry) || retry < 0) throw new TypeError(`an event's retry is a number of milliseconds, not ${describe(e.retry)}`);
  return [
    e.event === undefined ? undefined : String(e.event),
    data,
    e.id === undefined ? undefined : String(e.id),
    e.comment === undefined ? undefined : String(e.comment),
    Math.floor(retry),
  ];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${Object.prototype.toString.call(v)})` : `${typeof v} ${String(v)}`;
}

function errorText(e: unknown): string {
  try {
    return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : `thrown: ${String(e)}`;
  } catch {
    return 'thrown: a value that cannot be printed';
  }
}

/**
 * Sends what `source` produces on stream `sid`, then ends it: each chunk
 * (bytes) or each event (events) as it comes. A failing producer cuts the
 * stream off (spikard_stream_fail); a client that went away stops the
 * producer (its return()) and ends the stream. Never rejects.
 */
export async function pump(sid: number, source: StreamSource<unknown>, events: boolean): Promise<void> {
  let it: AnyIterator | undefined;
  try {
    it = iteratorOf(source);
    let res = (await it.next()) as IteratorResult<unknown>;
    while (!res.done) {
      const v = res.value;
      if (events) {
        let rc: number;
        let msg: string | undefined;
        let err: Error | undefined;
        try {
          const [event, data, id, comment, retry] = eventArgs(v);
          [rc, msg] = await call((t) => native.sseSend(sid, event, data, id, comment, retry, t));
          if (rc === EINVAL) err = new SSEEventError(msg ?? 'the event does not match the route\'s event schema');
        } catch (e) {
          err = e as Error;
          rc = OK;
        }
        if (err) {
          // reported at the yield: a generator may catch it and go on
          if (typeof it.throw !== 'function') throw err;
          res = (await it.throw(err)) as IteratorResult<unknown>;
          continue;
        }
        if (rc < 0) return await gone(sid, it);
      } else {
        if (!isChunk(v)) throw new TypeError(`a streamed body yields strings, Buffers or TypedArrays, not ${describe(v)}`);
        if (chunkLength(v) > 0) {
          let q = native.streamWrite(sid, v);
          if (q > HIGH_WATER) [q] = await call((t) => native.streamFlush(sid, t));
          if (q < 0) return await gone(sid, it);
        }
      }
      res = (await it.next()) as IteratorResult<unknown>;
    }
    native.streamEnd(sid, 0);
  } catch (e) {
    native.streamFail(sid, errorText(e), 0);
  }
}

/** The client went away (or the app shuts down): stop the producer, end the stream. */
async function gone(sid: number, it: AnyIterator): Promise<void> {
  native.streamEnd(sid, 0);
  try {
    await it.return?.();
  } catch {
    // a producer failing while it is stopped changes nothing for the client
  }
}

const PENDING = Symbol('pending');

/**
 * A WHATWG Response's body: the whole body when it is already there (a
 * Response made from a string or bytes; sent with its length), else a
 * stream of its chunks (sent as they come). The body counts as there when
 * its reads complete before the event loop turns, up to HIGH_WATER bytes.
 */
export async function responseBody(body: ReadableStream<Uint8Array>): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const p = reader.read();
    const r = await Promise.race([p, new Promise<typeof PENDING>((resolve) => setImmediate(resolve, PENDING))]);
    if (r !== PENDING && r.done) return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (r !== PENDING) {
      chunks.push(r.value);
      size += r.value.byteLength;
      if (size <= HIGH_WATER) continue;
    }
    const first = r === PENDING ? p : undefined;
    return (async function* () {
      try {
        yield* chunks;
        let n = first ? await first : await reader.read();
        while (!n.done) {
          yield n.value;
          n = await reader.read();
        }
      } finally {
        reader.cancel().catch(() => undefined);
      }
    })();
  }
}

// ---- WebSockets ------------------------------------------------------------

/** What onMessage receives: text as a string, a binary message as a Buffer. */
export type WebSocketMessage = string | Buffer;

/** Data a WebSocket sends: a string as a text message, bytes as a binary one. */
export type WebSocketData = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * A WebSocket route's callbacks. Each may be async; the connection's next
 * event waits until the callback finished (one event at a time, in order).
 * What onMessage returns is sent back (a string as text, bytes as binary,
 * anything else as JSON text; undefined sends nothing). A callback that
 * throws closes the connection with 1011.
 */
export interface WebSocketHandlers<P = Record<string, string>, Q = Record<string, unknown>> {
  /** The handshake is done: greet, keep the connection somewhere. */
  onOpen?(ws: WebSocketConnection<P, Q>, req: SpikardRequest<P, Q>): unknown;
  /** A message arrived (already checked: UTF-8 text, size, the route's messageSchema). */
  onMessage?(ws: WebSocketConnection<P, Q>, message: WebSocketMessage): unknown;
  /** The connection is over: the close code (1006 when it dropped) and reason. Sends fail from now on. */
  onClose?(ws: WebSocketConnection<P, Q>, code: number, reason: string): unknown;
}

function settle(r: Promise<Result>, what: string): Promise<void> {
  const p = r.then(([rc, msg]) => {
    if (rc < 0) throw new WebSocketError(codeName(rc), rc, msg ?? `${what} failed`);
  });
  p.catch(() => undefined); // a send nobody awaits must not take the process down
  return p;
}

/**
 * One WebSocket connection, the same object for all its events. Sends and
 * closes are queued in order and never block the event loop; each returns
 * a promise that resolves once the frame was written (await it to pace a
 * producer, or ignore it), and rejects with a WebSocketError
 * (SPIKARD_ECLOSED) when the connection is over.
 */
export class WebSocketConnection<P = Record<string, string>, Q = Record<string, unknown>> {
  /** The connection's number (unique in the process). */
  readonly id: number;
  /** The upgrade request: params, query, headers, cookies as validated for the route. */
  readonly request: SpikardRequest<P, Q>;
  /** The app's own data for this connection. */
  readonly data: Record<string, unknown> = {};
  /** @internal the close event came. */
  _over = false;
  #closing = false;

  /** @internal */
  constructor(id: number, request: SpikardRequest<P, Q>) {
    this.id = id;
    this.request = request;
  }

  /** Path parameters of the upgrade request. */
  get params(): P {
    return this.request.params;
  }

  /** Query parameters of the upgrade request. */
  get query(): Q {
    return this.request.query;
  }

  /** False once close() was called or the connection ended. */
  get isOpen(): boolean {
    return !this._over && !this.#closing;
  }

  /** Sends a text (string) or binary (bytes) message. */
  send(data: WebSocketData): Promise<void> {
    const text = typeof data === 'string';
    if (!text && !isChunk(data)) throw new TypeError(`ws.send takes a string or bytes, not ${describe(data)}: use ws.sendJson for values`);
    if (this._over) return settle(Promise.resolve([-8, `WebSocket connection ${this.id} is closed`]), 'send');
    return settle(call((t) => native.wsSend(this.id, text ? 1 : 2, data, t)), 'send');
  }

  /** Sends a value as JSON text. */
  sendJson(value: unknown): Promise<void> {
    return this.send(JSON.stringify(value));
  }

  /**
   * Starts the closing handshake (code 1000 by default, an application code
   * 4000-4999, a reason of at most 123 bytes). onClose follows when the
   * client answered.
   */
  close(code = 1000, reason = ''): Promise<void> {
    if (this._over) return Promise.resolve();
    this.#closing = true;
    return settle(call((t) => native.wsClose(this.id, code, reason, t)), 'close');
  }
}

const BIN_CT = 'Content-Type: application/octet-stream\n';

/** The WebSocket connections of one app: dispatches their events. */
export class WebSocketHub {
  readonly #conns = new Map<number, WebSocketConnection<unknown, unknown>>();
  constructor(readonly tasks: TaskRunner) {}

  /** Open connections (tests). */
  get size(): number {
    return this.#conns.size;
  }

  /** The app was freed: no event comes any more, so no close event either. */
  forgetAll(): void {
    for (const [id, ws] of this.#conns) {
      ws._over = true;
      native.wsRelease(id);
    }
    this.#conns.clear();
  }

  /** One event of a connection (kind: include/spikard.h), on the main thread. */
  event(h: WebSocketHandlers<unknown, unknown>, token: number, values: string | Values | undefined, kind: number, id: number): void {
    let out: unknown;
    let ws = this.#conns.get(id);
    try {
      if (!ws) {
        const req = new SpikardRequest(token, values, this.tasks);
        req._detach();
        ws = new WebSocketConnection(id, req);
        this.#conns.set(id, ws);
      }
      switch (kind) {
        case KIND_WS_OPEN:
          out = h.onOpen?.(ws, ws.request);
          break;
        case KIND_WS_MESSAGE: {
          const body = native.field(token, F_BODY) as Buffer;
          out = h.onMessage?.(ws, native.field(token, F_METHOD) === 'TEXT' ? body.toString('utf8') : body);
          break;
        }
        case KIND_WS_CLOSE: {
          const body = native.field(token, F_BODY) as Buffer;
          ws._over = true;
          this.#conns.delete(id);
          out = h.onClose?.(ws, body.length >= 2 ? body.readUInt16BE(0) : 1005, body.subarray(2).toString('utf8'));
          break;
        }
      }
    } catch (e) {
      return this.#finished(token, kind, id, undefined, e, true);
    }
    if (out !== null && typeof out === 'object' && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<unknown>).then(
        (v) => this.#finished(token, kind, id, v, undefined, false),
        (e) => this.#finished(token, kind, id, undefined, e, true),
      );
    } else {
      this.#finished(token, kind, id, out, undefined, false);
    }
  }

  #finished(token: number, kind: number, id: number, value: unknown, err: unknown, failed: boolean): void {
    if (kind === KIND_WS_CLOSE) {
      // the connection is over: what it answers is dropped, errors are logged
      if (failed) process.stderr.write(`spikard: a WebSocket onClose callback failed: ${errorText(err)}\n`);
      native.continueRequest(token, undefined);
      native.wsRelease(id);
      return;
    }
    if (!failed && kind === KIND_WS_MESSAGE && value !== undefined && value !== null) {
      try {
        if (typeof value === 'string') native.respond(token, 200, undefined, value);
        else if (isChunk(value)) native.respond(token, 200, BIN_CT, value);
        else native.respond(token, 200, undefined, JSON.stringify(value));
        return;
      } catch (e) {
        err = e;
        failed = true;
      }
    }
    if (failed) native.respondError(token, errorText(err)); // closes with 1011
    else native.continueRequest(token, undefined);
  }
}
