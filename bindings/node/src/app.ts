// The application: routes declared with Fastify/Hono-style methods become
// ONE configuration document (core/config, version 1) that crosses to
// libspikard once; the core routes, validates, coerces and answers problems,
// and hands every valid request to the JavaScript main thread, where the
// handler runs and its answer goes back in one call.
import * as http from 'node:http';
import { native, guardSignals, OK, EINVAL } from './native';
import { HttpError, defaultTitle } from './errors';
import { SpikardRequest, Reply, headerLine, type TaskRunner, type Values } from './request';
import { toJSONSchema, paramGroup, SchemaError, type SchemaInput, type JSONSchema, type ParamGroup } from './schema';
import { isStreamSource, pump, responseBody, WebSocketHub, type StreamSource, type WebSocketHandlers } from './live';
import type { Handler, RouteOptions, Infer, WebSocketRouteOptions } from './types';

/** How requests reach JavaScript (see README, "Dispatch"). */
export type DispatchMode = 'poll' | 'callback';

export interface SpikardOptions {
  /**
   * Server options, as the document's "server" member: host, port,
   * max_body_bytes, max_json_depth, trailing_slash, validate_responses,
   * handler_timeout_ms (default 30000), shutdown_timeout_ms, http2, tls...
   */
  server?: Record<string, unknown>;
  /** App-wide middleware (the document's "middleware": compression, cors, request_id, auth, rate_limit, static_files...). */
  middleware?: Record<string, unknown>;
  /** OpenAPI document and docs pages (the document's "openapi"); true serves the defaults. */
  openapi?: Record<string, unknown> | boolean;
  /** Request dispatch; default "poll" (the faster, measured). */
  dispatch?: DispatchMode;
}

export interface ListenOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default: the document's server.host, else 127.0.0.1. */
  host?: string;
}

export interface CloseOptions {
  /** How long in-flight requests may take (default: server.shutdown_timeout_ms, else 10000). */
  timeoutMs?: number;
}

export interface InjectOptions {
  method?: string;
  url?: string;
  path?: string;
  query?: Record<string, string | number | boolean | readonly (string | number | boolean)[]> | string;
  headers?: Record<string, string | number | readonly string[]>;
  cookies?: Record<string, string>;
  /** An object or array is sent as JSON (Content-Type application/json unless given). */
  body?: unknown;
  payload?: unknown;
}

export interface InjectResponse {
  statusCode: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  rawPayload: Buffer;
  /** The body parsed as JSON. */
  json<T = any>(): T; // eslint-disable-line @typescript-eslint/no-explicit-any
  cookies: { name: string; value: string; [attribute: string]: string | boolean }[];
}

type AnyHandler = (req: SpikardRequest<any, any, any, any, any, any>, reply: Reply) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The lifecycle phases, in the order a request meets them (core/hooks). */
export type HookPhase = 'onRequest' | 'preValidation' | 'preHandler' | 'onResponse' | 'onError';

const PHASES: Record<HookPhase, string> = {
  onRequest: 'on_request',
  preValidation: 'pre_validation',
  preHandler: 'pre_handler',
  onResponse: 'on_response',
  onError: 'on_error',
};

/**
 * A lifecycle hook: return nothing to let the request go on (with the
 * status and headers set on `reply`, and req.set / req.setHeader changes),
 * or return an answer (or call reply.send) to answer instead: in the request
 * phases that short-circuits the request, in onResponse / onError it
 * replaces the response. Throwing answers the core's 500 problem.
 */
export type Hook = (req: SpikardRequest<any, any, any, any, any, any>, reply: Reply) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface HookOptions {
  /** The hook's name in logs and req.call.name (default: the function's name or phase + index). */
  name?: string;
  /** Any JSON, handed to the hook as req.call.config. */
  config?: unknown;
  /** Dependency keys resolved before the hook runs (req.deps). */
  dependencies?: string[];
}

/** A dependency factory: builds the value (any JSON) from the resolved values of its dependsOn. */
export type Factory = (deps: Record<string, any>, req: SpikardRequest<any, any, any, any, any, any>) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface FactoryOptions {
  /** Dependencies resolved first and handed to the factory. */
  dependsOn?: string[];
  /** Created once per app (lazily) and shared. */
  singleton?: boolean;
  /** Created once per request and shared within it. */
  perRequest?: boolean;
  /** Called with the value after the response was sent (reverse order of creation; singletons at shutdown). */
  cleanup?: (value: any, req: SpikardRequest<any, any, any, any, any, any>) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** "factory" (default) or "async_factory" (the core treats both alike). */
  type?: 'factory' | 'async_factory';
}

/** How an invocation's outcome is read. */
const K_ROUTE = 0; // a route handler: nothing returned -> 204
const K_HOOK = 1; // a hook: nothing returned -> continue
const K_FACTORY = 2; // a factory: the value -> 200 JSON; cleanup calls go to its cleanup
const K_GENERIC = 3; // bound with handle(): decided per invocation by values.call
const K_WS = 4; // a WebSocket route's callbacks: every invocation is a connection event

type AnyWebSocketHandlers = WebSocketHandlers<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Registered {
  fn: AnyHandler;
  kind: number;
  cleanup?: FactoryOptions['cleanup'];
  ws?: AnyWebSocketHandlers;
}

/** @internal one bound handler name. */
export interface Bound {
  name: string;
  fn: AnyHandler;
  arity: number;
  kind: number;
  cleanup?: FactoryOptions['cleanup'];
  ws?: AnyWebSocketHandlers;
  /** The name answers an event-stream route: a stream source answers events. */
  sse: boolean;
}

const notAHandler: AnyHandler = () => {
  throw new Error('spikard: an HTTP request reached WebSocket callbacks');
};

const JSON_CT = 'Content-Type: application/json\n';
const TEXT_CT = 'Content-Type: text/plain; charset=utf-8\n';
const BIN_CT = 'Content-Type: application/octet-stream\n';
const PROBLEM_CT = 'Content-Type: application/problem+json\n';
const RESPONSE_KEYS = new Set(['status', 'headers', 'body']);


/**
 * A Spikard application.
 *
 *   const app = new Spikard();
 *   app.get('/users/:id', { params: z.object({ id: z.coerce.number().int() }) }, async (req) => ({ id: req.params.id }));
 *   await app.listen({ port: 3000 });
 */
export class Spikard {
  readonly #opts: SpikardOptions;
  readonly #routes: Record<string, unknown>[] = [];
  readonly #docRoutes: Record<string, unknown>[] = [];
  readonly #dependencies: Record<string, unknown> = {};
  readonly #handlers = new Map<string, Registered>();
  readonly #hooks: Record<string, Record<string, unknown>[]> = {};
  #hookCount = 0;
  #docExtra: Record<string, unknown> = {};
  #bound: Bound[] = [];
  #app = 0;
  #port = 0;
  #host = '';
  #closing: Promise<void> | undefined;
  #unguard: (() => void) | undefined;
  #tasks = 0;
  #tasksIdle: (() => void)[] = [];
  readonly #hub = new WebSocketHub({ schedule: (task) => this._runTasks([task]) });

  constructor(options: SpikardOptions = {}) {
    this.#opts = options;
  }

  /**
   * An app from a configuration document (JSON text or object, version 1):
   * its routes name handlers that you bind with handle(name, fn).
   */
  static fromConfig(document: string | Record<string, unknown>, options: Omit<SpikardOptions, 'server' | 'middleware' | 'openapi'> = {}): Spikard {
    const doc = typeof document === 'string' ? (JSON.parse(document) as Record<string, unknown>) : { ...document };
    const app = new Spikard(options);
    const routes = doc.routes;
    delete doc.routes;
    if (Array.isArray(routes)) app.#docRoutes.push(...(routes as Record<string, unknown>[]));
    app.#docExtra = doc;
    return app;
  }

  /** Binds a handler name the configuration document's routes use. */
  handle(name: string, fn: AnyHandler): this {
    if (typeof fn !== 'function') throw new TypeError(`handle(${name}): the handler must be a function`);
    this.#assertNotStarted('handle');
    this.#handlers.set(name, { fn, kind: K_GENERIC });
    return this;
  }

  /**
   * Binds a handler name that a WebSocket route of the configuration
   * document uses (a route with a "websocket" member) to its callbacks.
   */
  handleWebSocket(name: string, handlers: WebSocketHandlers): this {
    this.#assertNotStarted('handleWebSocket');
    this.#handlers.set(name, { fn: notAHandler, kind: K_WS, ws: checkWebSocketHandlers(name, handlers) });
    return this;
  }

  /**
   * Adds a WebSocket route: GET path upgrades (the core does the handshake,
   * subprotocols, origins, limits, pings, message validation), then
   * onOpen / onMessage / onClose run for each connection's events.
   *
   *   app.ws('/chat/:room', { params: z.object({ room: z.string() }) }, {
   *     onOpen(ws) { ws.sendJson({ joined: ws.params.room }); },
   *     onMessage(ws, msg) { return msg; },                       // echo
   *   });
   */
  ws<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined>(
    path: string,
    options: WebSocketRouteOptions<PS, QS, HS, CS>,
    handlers: WebSocketHandlers<Infer<PS, Record<string, string>>, Infer<QS, Record<string, unknown>>>,
  ): this;
  ws(path: string, handlers: WebSocketHandlers): this;
  ws(path: string, a: unknown, b?: unknown): this {
    const [options, handlers] = b === undefined ? [{} as WebSocketRouteOptions, a as WebSocketHandlers] : [a as WebSocketRouteOptions, b as WebSocketHandlers];
    this.#assertNotStarted('ws');
    const name = `WS ${path}`;
    if (this.#handlers.has(name)) throw new Error(`${name} is declared twice`);
    const o = options ?? {};
    const doc = routeDocument('GET', path, o as RouteOptions, name);
    doc.websocket = websocketMember(o, `WS ${path}`);
    this.#routes.push(doc);
    this.#handlers.set(name, { fn: notAHandler, kind: K_WS, ws: checkWebSocketHandlers(name, handlers) });
    return this;
  }

  /**
   * Declares an app-wide dependency. A value (any JSON) is a constant; a
   * function is a factory, run by the core when a route, hook or factory
   * needs the key: `(deps, req) => value` (may be async; throw an HttpError
   * to refuse the request). Routes receive dependencies with `inject: [key]`
   * as req.deps[key].
   */
  provide(key: string, value: unknown): this;
  provide(key: string, factory: Factory, options?: FactoryOptions): this;
  provide(key: string, value: unknown, options: FactoryOptions = {}): this {
    this.#assertNotStarted('provide');
    if (typeof value !== 'function') {
      this.#dependencies[key] = { type: 'value', value };
      return this;
    }
    const name = `factory:${key}`;
    const dep: Record<string, unknown> = { type: options.type ?? 'factory', factory: name };
    if (options.dependsOn?.length) dep.depends_on = options.dependsOn;
    if (options.singleton) dep.singleton = true;
    if (options.perRequest) dep.cacheable = true;
    if (options.cleanup) dep.cleanup = true;
    this.#dependencies[key] = dep;
    const f = value as Factory;
    this.#handlers.set(name, { fn: (req) => f(req.deps as Record<string, unknown>, req), kind: K_FACTORY, cleanup: options.cleanup });
    return this;
  }

  /**
   * Adds an app-wide lifecycle hook (after the hooks of the same phase the
   * document declares). See Hook for what it may do.
   *
   *   app.addHook('preHandler', (req, reply) => { if (!req.header('authorization')) throw new HttpError(401); });
   *   app.addHook('onResponse', (req, reply) => { reply.header('x-frame-options', 'DENY'); });
   */
  addHook(phase: HookPhase, hook: Hook, options: HookOptions = {}): this {
    this.#assertNotStarted('addHook');
    const entry = this.#hookEntry(phase, hook, options);
    (this.#hooks[PHASES[phase]] ??= []).push(entry);
    return this;
  }

  #hookEntry(phase: HookPhase, hook: Hook, options: HookOptions): Record<string, unknown> {
    if (!(phase in PHASES)) throw new TypeError(`unknown hook phase ${String(phase)} (want ${Object.keys(PHASES).join(', ')})`);
    if (typeof hook !== 'function') throw new TypeError(`${phase} hook: a hook is a function`);
    const n = ++this.#hookCount;
    const name = options.name ?? (hook.name && hook.name !== 'anonymous' ? hook.name : `${phase}#${n}`);
    const handler = `hook:${n}:${name}`;
    this.#handlers.set(handler, { fn: hook, kind: K_HOOK });
    const entry: Record<string, unknown> = { name, handler };
    if (options.config !== undefined) entry.config = options.config;
    if (options.dependencies?.length) entry.dependencies = options.dependencies;
    return entry;
  }

  /** Adds a route: route(method, path, [options], handler). */
  route<
    PS extends SchemaInput | undefined = undefined,
    QS extends SchemaInput | undefined = undefined,
    BS extends SchemaInput | undefined = undefined,
    HS extends SchemaInput | undefined = undefined,
    CS extends SchemaInput | undefined = undefined,
    RS extends SchemaInput | undefined = undefined,
  >(method: string, path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  route(method: string, path: string, handler: Handler): this;
  route(method: string, path: string, a: unknown, b?: unknown): this {
    const [options, handler] = typeof a === 'function' ? [{} as RouteOptions, a as AnyHandler] : [a as RouteOptions, b as AnyHandler];
    if (typeof handler !== 'function') throw new TypeError(`${method} ${path}: the handler must be a function`);
    this.#assertNotStarted('route');
    const m = method.toUpperCase();
    const name = `${m} ${path}`;
    if (this.#handlers.has(name)) throw new Error(`${name} is declared twice`);
    const o = options ?? {};
    const doc = routeDocument(m, path, o, name);
    const phases: Record<string, Record<string, unknown>[]> = {};
    for (const phase of Object.keys(PHASES) as HookPhase[]) {
      const h = o[phase];
      if (h === undefined) continue;
      for (const fn of Array.isArray(h) ? h : [h]) (phases[PHASES[phase]] ??= []).push(this.#hookEntry(phase, fn as Hook, {}));
    }
    if (Object.keys(phases).length > 0) {
      const mw = { ...((doc.middleware as Record<string, unknown>) ?? {}) };
      const existing = (mw.lifecycle_hooks as Record<string, Record<string, unknown>[]> | undefined) ?? {};
      for (const [k, v] of Object.entries(phases)) existing[k] = [...(existing[k] ?? []), ...v];
      mw.lifecycle_hooks = existing;
      doc.middleware = mw;
    }
    this.#routes.push(doc);
    this.#handlers.set(name, { fn: handler, kind: K_ROUTE });
    return this;
  }

  get<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  get(path: string, handler: Handler): this;
  get(path: string, a: unknown, b?: unknown): this {
    return this.route('GET', path, a as RouteOptions, b as Handler);
  }

  post<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  post(path: string, handler: Handler): this;
  post(path: string, a: unknown, b?: unknown): this {
    return this.route('POST', path, a as RouteOptions, b as Handler);
  }

  put<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  put(path: string, handler: Handler): this;
  put(path: string, a: unknown, b?: unknown): this {
    return this.route('PUT', path, a as RouteOptions, b as Handler);
  }

  patch<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  patch(path: string, handler: Handler): this;
  patch(path: string, a: unknown, b?: unknown): this {
    return this.route('PATCH', path, a as RouteOptions, b as Handler);
  }

  delete<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  delete(path: string, handler: Handler): this;
  delete(path: string, a: unknown, b?: unknown): this {
    return this.route('DELETE', path, a as RouteOptions, b as Handler);
  }

  head<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  head(path: string, handler: Handler): this;
  head(path: string, a: unknown, b?: unknown): this {
    return this.route('HEAD', path, a as RouteOptions, b as Handler);
  }

  options<PS extends SchemaInput | undefined = undefined, QS extends SchemaInput | undefined = undefined, BS extends SchemaInput | undefined = undefined, HS extends SchemaInput | undefined = undefined, CS extends SchemaInput | undefined = undefined, RS extends SchemaInput | undefined = undefined>(path: string, options: RouteOptions<PS, QS, BS, HS, CS, RS>, handler: Handler<PS, QS, BS, HS, CS, RS>): this;
  options(path: string, handler: Handler): this;
  options(path: string, a: unknown, b?: unknown): this {
    return this.route('OPTIONS', path, a as RouteOptions, b as Handler);
  }

  /** The configuration document this app sends to the core. */
  document(): Record<string, unknown> {
    const doc: Record<string, unknown> = { version: 1, ...this.#docExtra };
    const o = this.#opts;
    if (o.server) doc.server = { ...((doc.server as object) ?? {}), ...o.server };
    if (o.middleware) doc.middleware = { ...((doc.middleware as object) ?? {}), ...o.middleware };
    if (Object.keys(this.#hooks).length > 0) {
      const mw = { ...((doc.middleware as Record<string, unknown>) ?? {}) };
      const existing = { ...((mw.lifecycle_hooks as Record<string, Record<string, unknown>[]> | undefined) ?? {}) };
      for (const [k, v] of Object.entries(this.#hooks)) existing[k] = [...(existing[k] ?? []), ...v];
      mw.lifecycle_hooks = existing;
      doc.middleware = mw;
    }
    if (o.openapi !== undefined && o.openapi !== false) doc.openapi = o.openapi === true ? { enabled: true } : o.openapi;
    if (Object.keys(this.#dependencies).length > 0) {
      doc.dependencies = { ...((doc.dependencies as object) ?? {}), ...this.#dependencies };
    }
    doc.routes = [...this.#docRoutes, ...this.#routes];
    return doc;
  }

  /** The document as the core understood it (normalised); the app must be listening. */
  coreDocument(): Record<string, unknown> {
    if (!this.#app) throw new Error('coreDocument(): the app is not listening');
    return JSON.parse(native.config(this.#app)) as Record<string, unknown>;
  }

  /**
   * The app's OpenAPI 3.1 document, generated by the core from the routes
   * and their schemas (the "openapi" options give its info; serving it is
   * `openapi: true`).
   */
  openapi(): Record<string, unknown> {
    if (this.#app) return JSON.parse(native.openapi(this.#app)) as Record<string, unknown>;
    const h = native.appNew(JSON.stringify(this.document()), () => undefined, 0);
    try {
      return JSON.parse(native.openapi(h)) as Record<string, unknown>;
    } finally {
      native.free(h);
    }
  }

  /** The port the app listens on (0 before listen). */
  get port(): number {
    return this.#port;
  }

  /** True between listen() and close(). */
  get listening(): boolean {
    return this.#app !== 0 && this.#closing === undefined;
  }

  /**
   * Starts serving (the core's threads accept and parse; handlers run on
   * this thread) and resolves with the URL once connections are accepted.
   */
  async listen(options: ListenOptions | number = {}): Promise<string> {
    const o = typeof options === 'number' ? { port: options } : options;
    this.#assertNotStarted('listen');
    const doc = this.document();
    const names = handlerNames(doc);
    for (const n of names) {
      if (!this.#handlers.has(n)) throw new Error(`the document uses handler "${n}": bind it with app.handle("${n}", fn)`);
    }
    const [wsNames, sseNames] = liveNames(doc);
    const bound: Bound[] = [];
    for (const [name, reg] of this.#handlers) {
      if (!names.has(name)) continue;
      if (wsNames.has(name) !== (reg.kind === K_WS)) {
        throw new Error(
          wsNames.has(name)
            ? `handler "${name}" answers a WebSocket route: bind it with app.handleWebSocket("${name}", { onOpen, onMessage, onClose })`
            : `handler "${name}" is bound to WebSocket callbacks, but no WebSocket route uses it (a route with a "websocket" member)`,
        );
      }
      bound.push({ name, fn: reg.fn, arity: reg.fn.length, kind: reg.kind, cleanup: reg.cleanup, ws: reg.ws, sse: sseNames.has(name) });
    }
    this.#bound = bound;
    let mode = (this.#opts.dispatch ?? process.env.SPIKARD_NODE_DISPATCH ?? 'poll') === 'callback' ? 1 : 0;
    if (process.env.SPIKARD_NODE_VALUES === 'object') mode |= 2; // measured alternative: values built in C
    const h = native.appNew(JSON.stringify(doc), this.#dispatch, mode);
    try {
      bound.forEach((b, tag) => native.bind(h, b.name, tag));
      const host = o.host ?? '';
      this.#port = native.listen(h, host, o.port ?? 0);
      this.#host = host || ((doc.server as { host?: string } | undefined)?.host ?? '127.0.0.1');
    } catch (e) {
      native.free(h);
      throw e;
    }
    this.#app = h;
    this.#unguard = guardSignals();
    return `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /**
   * Graceful stop: no new connections; in-flight requests get timeoutMs to
   * be answered (the rest are answered 503); then background tasks finish.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (!this.#app) return Promise.resolve();
    if (this.#closing) return this.#closing;
    const h = this.#app;
    const server = this.document().server as { shutdown_timeout_ms?: number } | undefined;
    const timeout = options.timeoutMs ?? server?.shutdown_timeout_ms ?? 10000;
    this.#closing = (async () => {
      await native.shutdown(h, timeout);
      native.free(h);
      this.#hub.forgetAll();
      this.#unguard?.();
      this.#unguard = undefined;
      await this.#idle();
      this.#app = 0;
      this.#port = 0;
      this.#closing = undefined;
    })();
    return this.#closing;
  }

  /**
   * Sends one request to the app over a real socket (listening on
   * 127.0.0.1 first if it is not) and reads the whole answer.
   */
  async inject(options: InjectOptions | string): Promise<InjectResponse> {
    const o: InjectOptions = typeof options === 'string' ? { url: options } : options;
    if (!this.#app) await this.listen({ port: 0, host: '127.0.0.1' });
    let path = o.url ?? o.path ?? '/';
    if (o.query !== undefined) {
      const qs =
        typeof o.query === 'string'
          ? o.query
          : new URLSearchParams(
              Object.entries(o.query).flatMap(([k, v]): [string, string][] =>
                Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)]],
              ),
            ).toString();
      if (qs) path += (path.includes('?') ? '&' : '?') + qs;
    }
    const headers: Record<string, string | number | readonly string[]> = { ...(o.headers ?? {}) };
    if (o.cookies) {
      headers.cookie = Object.entries(o.cookies)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
    }
    const payload = o.body !== undefined ? o.body : o.payload;
    let data: Buffer | undefined;
    if (payload !== undefined) {
      const hasCT = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
      if (typeof payload === 'string') data = Buffer.from(payload);
      else if (payload instanceof Uint8Array) data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      else {
        data = Buffer.from(JSON.stringify(payload));
        if (!hasCT) headers['content-type'] = 'application/json';
      }
    }
    const host = this.#host === '0.0.0.0' || this.#host === '' ? '127.0.0.1' : this.#host === '::' ? '::1' : this.#host;
    return new Promise<InjectResponse>((resolve, reject) => {
      const req = http.request(
        { host, port: this.#port, method: (o.method ?? 'GET').toUpperCase(), path, headers: headers as http.OutgoingHttpHeaders, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const raw = Buffer.concat(chunks);
            const body = raw.toString('utf8');
            resolve({
              statusCode: res.statusCode ?? 0,
              statusMessage: res.statusMessage ?? '',
              headers: res.headers,
              body,
              rawPayload: raw,
              json: () => JSON.parse(body),
              cookies: parseSetCookies(res.headers['set-cookie']),
            });
          });
        },
      );
      req.on('error', reject);
      if (data) req.setHeader('content-length', data.length);
      req.end(data);
    });
  }

  #assertNotStarted(what: string): void {
    if (this.#app) throw new Error(`${what}(): the app is already listening`);
  }

  // ---- the request path ------------------------------------------------

  /** Called by the addon for every request (and WebSocket event: kind, conn), on the main thread. */
  readonly #dispatch = (token: number, tag: number, values: string | Values | undefined, kind?: number, conn?: number): void => {
    const b = this.#bound[tag]!;
    if (kind !== undefined) {
      if (b.ws) this.#hub.event(b.ws, token, values, kind, conn!);
      else native.respondError(token, `spikard: a WebSocket event reached handler ${b.name}, which is not bound with handleWebSocket`);
      return;
    }
    const reply = b.arity > 1 || b.kind === K_HOOK || b.kind === K_GENERIC ? new Reply() : undefined;
    const ctx = new Answer(this, token, reply, b.kind, b.sse);
    const req = new SpikardRequest(token, values, ctx);
    ctx.req = req;
    let out: unknown;
    try {
      if (b.kind === K_FACTORY && b.cleanup !== undefined && req.call?.kind === 'cleanup') {
        const c = b.cleanup;
        out = Promise.resolve(c(req.call.value, req)).then(() => undefined);
      } else {
        out = b.fn(req, reply as Reply);
      }
    } catch (e) {
      ctx.fail(e);
      return;
    }
    if (out !== null && typeof out === 'object' && typeof (out as Promise<unknown>).then === 'function') {
      (out as Promise<unknown>).then(
        (v) => ctx.send(v),
        (e) => ctx.fail(e),
      );
    } else {
      ctx.send(out);
    }
  };

  /** @internal runs background tasks after their response. */
  _runTasks(tasks: (() => unknown)[]): void {
    this.#tasks += tasks.length;
    setImmediate(() => {
      for (const t of tasks) {
        let r: unknown;
        try {
          r = t();
        } catch (e) {
          logTaskError(e);
          this.#taskDone();
          continue;
        }
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(
            () => this.#taskDone(),
            (e) => {
              logTaskError(e);
              this.#taskDone();
            },
          );
        } else this.#taskDone();
      }
    });
  }

  #taskDone(): void {
    if (--this.#tasks === 0) {
      const w = this.#tasksIdle;
      this.#tasksIdle = [];
      for (const f of w) f();
    }
  }

  #idle(): Promise<void> {
    if (this.#tasks === 0) return Promise.resolve();
    return new Promise((resolve) => this.#tasksIdle.push(resolve));
  }
}

function logTaskError(e: unknown): void {
  process.stderr.write(`spikard: a background task failed: ${(e as Error)?.stack ?? String(e)}\n`);
}

/**
 * One request's answer: sends what the handler returned (or threw) once.
 * Also the task runner of the request: background tasks wait for the answer.
 */
class Answer implements TaskRunner {
  done = false;
  tasks: (() => unknown)[] | undefined;
  req: SpikardRequest<unknown, unknown, unknown, unknown, unknown, unknown> | undefined;
  constructor(
    readonly app: Spikard,
    readonly token: number,
    readonly reply: Reply | undefined,
    readonly kind: number,
    readonly sse = false,
  ) {
    if (reply) {
      reply._send = (v) => this.send(v, true);
    }
  }

  schedule(task: () => unknown): void {
    if (typeof task !== 'function') throw new TypeError('background(task): task must be a function');
    (this.tasks ??= []).push(task);
    if (this.done) this.flushTasks();
  }

  flushTasks(): void {
    const t = this.tasks;
    if (t) {
      this.tasks = undefined;
      this.app._runTasks(t);
    }
  }

  send(value: unknown, fromReply = false): void {
    if (this.done) return;
    const reply = this.reply;
    if (reply && reply._sent && !fromReply) return;
    if (value === undefined && this.kind !== K_ROUTE && !(reply && reply._sent && fromReply) && this.continues()) {
      this.continueRequest();
      return;
    }
    if (value !== null && typeof value === 'object' && value instanceof Response) {
      if (reply) reply._sent = true;
      this.done = true;
      void this.sendResponse(value);
      return;
    }
    this.done = true;
    if (reply) reply._sent = true;
    let status = reply ? reply._status : 0;
    let headers = reply ? reply._headers : '';
    let type = reply ? reply._type : undefined;
    let body: string | Uint8Array | ArrayBuffer | undefined;
    let defType: string;
    if (value !== null && typeof value === 'object' && isResponseLike(value)) {
      const r = value as { status: number; headers?: Record<string, unknown>; body?: unknown };
      status = r.status;
      if (r.headers) {
        try {
          for (const k of Object.keys(r.headers)) {
            const v = r.headers[k];
            if (v === undefined) continue;
            if (k.length === 12 && k.toLowerCase() === 'content-type') type = headerLine(k, v).slice(14, -1);
            else if (Array.isArray(v)) for (const x of v) headers += headerLine(k, x);
            else headers += headerLine(k, v);
          }
        } catch (e) {
          this.done = false;
          this.fail(e);
          return;
        }
      }
      value = r.body;
    }
    if (this.kind !== K_FACTORY && isStreamSource(value)) {
      this.stream(status || 200, headers, type, value);
      return;
    }
    if (value === undefined) {
      defType = '';
      body = undefined;
      if (!status) status = reply && (reply._headers || reply._type) ? 200 : 204;
    } else if (this.kind === K_FACTORY) {
      // a factory's answer is its value, as JSON (strings and numbers too)
      try {
        body = JSON.stringify(value);
      } catch (e) {
        this.done = false;
        this.fail(e);
        return;
      }
      defType = JSON_CT;
    } else if (typeof value === 'string') {
      body = value;
      defType = TEXT_CT;
    } else if (value !== null && typeof value === 'object' && (ArrayBuffer.isView(value) || value instanceof ArrayBuffer)) {
      body = ArrayBuffer.isView(value) && !(value instanceof Uint8Array) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : (value as Uint8Array);
      defType = BIN_CT;
    } else {
      try {
        body = JSON.stringify(value);
      } catch (e) {
        this.done = false;
        this.fail(e);
        return;
      }
      defType = JSON_CT;
    }
    if (type !== undefined) headers = `Content-Type: ${type}\n${headers}`;
    else headers = headers ? defType + headers : defType;
    const rc = native.respond(this.token, status || 200, headers, body);
    if (rc !== OK) this.refused(rc, status || 200, headers);
    this.flushTasks();
  }

  /** Whether returning nothing lets the request go on (hooks, factories, cleanups, tasks). */
  continues(): boolean {
    if (this.kind !== K_GENERIC) return true;
    const k = this.req?.call?.kind;
    return k !== undefined && k !== 'handler';
  }

  continueRequest(): void {
    this.done = true;
    const reply = this.reply;
    if (reply) reply._sent = true;
    const ch: Record<string, unknown> = {};
    if (reply?._status) ch.status = reply._status;
    if (reply?._map || reply?._type) ch.headers = { ...(reply._map ?? {}), ...(reply._type ? { 'Content-Type': reply._type } : {}) };
    const c = this.req?._changes;
    if (c?.request_headers) ch.request_headers = c.request_headers;
    if (c?.state) ch.state = c.state;
    let text: string | undefined;
    for (const _ in ch) {
      try {
        text = JSON.stringify(ch);
      } catch (e) {
        this.done = false;
        this.fail(e);
        return;
      }
      break;
    }
    native.continueRequest(this.token, text);
    this.flushTasks();
  }

  async sendResponse(res: Response): Promise<void> {
    let headers = '';
    let type: string | undefined;
    res.headers.forEach((v, k) => {
      if (k === 'content-type') type = v;
      else if (k !== 'set-cookie') headers += `${k}: ${v}\n`; // Headers refuses CR / LF itself
    });
    for (const c of res.headers.getSetCookie()) headers += `Set-Cookie: ${c}\n`;
    let body: Uint8Array | AsyncIterable<Uint8Array> | undefined;
    try {
      body = res.body ? await responseBody(res.body) : undefined;
    } catch (e) {
      this.done = false;
      this.fail(e);
      return;
    }
    if (body !== undefined && !(body instanceof Uint8Array)) {
      this.stream(res.status, headers, type, body, false);
      return;
    }
    if (type !== undefined) headers = `Content-Type: ${type}\n${headers}`;
    const rc = native.respond(this.token, res.status, headers, body);
    if (rc !== OK) this.refused(rc, res.status, headers);
    this.flushTasks();
  }

  /**
   * Answers with a stream: the status and headers now, then what the
   * source produces, chunk by chunk (or event by event on an event-stream
   * route, or with Content-Type text/event-stream). Background tasks run
   * after the stream ended.
   */
  stream(status: number, headers: string, type: string | undefined, source: StreamSource<unknown>, events?: boolean): void {
    this.done = true;
    if (this.reply) this.reply._sent = true;
    const ev = events ?? (this.sse || (type !== undefined && /^\s*text\/event-stream/i.test(type)));
    if (type === undefined && !ev) type = 'application/octet-stream';
    if (type !== undefined) headers = `Content-Type: ${type}\n${headers}`;
    this.req?._detach(); // its fields stay readable while the stream runs
    const sid = native.streamBegin(this.token, status, headers);
    if (sid < 0) {
      this.refused(sid, status, headers);
      const it = source as { return?: () => unknown };
      try {
        void Promise.resolve(typeof it.return === 'function' ? it.return() : undefined).catch(() => undefined);
      } catch {
        // nothing was produced yet
      }
      return;
    }
    void pump(sid, source, ev).then(() => this.flushTasks());
  }

  refused(rc: number, status: number, headers: string): void {
    if (rc === EINVAL) {
      native.respondError(
        this.token,
        `the handler's answer was refused (SPIKARD_EINVAL): status ${status} or the header block is malformed: ${JSON.stringify(headers)}`,
      );
    }
    // ETIMEOUT / ECLOSED: the client already got 504 / 503; ESTATE: answered twice.
  }

  fail(err: unknown): void {
    if (this.done) {
      process.stderr.write(`spikard: error after the answer was sent: ${(err as Error)?.stack ?? String(err)}\n`);
      return;
    }
    this.done = true;
    if (this.reply) this.reply._sent = true;
    const e = err as { status?: unknown; statusCode?: unknown; message?: unknown; expose?: unknown };
    const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.status === 'number' ? e.status : 0;
    if (status >= 400 && status <= 599 && (err instanceof HttpError || status < 500 || e.expose === true)) {
      const he = err instanceof HttpError ? err : undefined;
      const problem: Record<string, unknown> = {
        type: he?.type ?? 'about:blank',
        title: typeof e.message === 'string' && e.message ? e.message : defaultTitle(status),
        status,
      };
      if (he?.detail !== undefined) problem.detail = he.detail;
      if (he?.extensions) Object.assign(problem, he.extensions);
      let headers = PROBLEM_CT;
      try {
        if (he?.headers) for (const [k, v] of Object.entries(he.headers)) headers += headerLine(k, v);
      } catch (e) {
        native.respondError(this.token, (e as Error).stack ?? String(e));
        this.flushTasks();
        return;
      }
      native.respond(this.token, status, headers, JSON.stringify(problem));
    } else {
      const msg = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `thrown: ${safeString(err)}`;
      native.respondError(this.token, msg);
      this.tasks = undefined; // background work of a failed request is dropped, as the core does
      return;
    }
    this.flushTasks();
  }
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function isResponseLike(v: object): boolean {
  if (typeof (v as { status?: unknown }).status !== 'number' || Array.isArray(v)) return false;
  for (const k in v) if (!RESPONSE_KEYS.has(k)) return false;
  return true;
}

function parseSetCookies(list: string[] | undefined): InjectResponse['cookies'] {
  const out: InjectResponse['cookies'] = [];
  for (const line of list ?? []) {
    const [pair, ...attrs] = line.split(';');
    const i = pair!.indexOf('=');
    const c: InjectResponse['cookies'][number] = { name: pair!.slice(0, i).trim(), value: pair!.slice(i + 1).trim() };
    for (const a of attrs) {
      const j = a.indexOf('=');
      if (j < 0) c[a.trim().toLowerCase()] = true;
      else c[a.slice(0, j).trim().toLowerCase()] = a.slice(j + 1).trim();
    }
    out.push(c);
  }
  return out;
}

/** Every handler name a document uses: routes, lifecycle hooks (app and route), dependency factories. */
function handlerNames(doc: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  const hooks = (mw: unknown) => {
    const lh = (mw as { lifecycle_hooks?: Record<string, { handler?: unknown }[]> } | undefined)?.lifecycle_hooks;
    if (lh && typeof lh === 'object') for (const list of Object.values(lh)) if (Array.isArray(list)) for (const h of list) if (typeof h?.handler === 'string') names.add(h.handler);
  };
  const deps = (d: unknown) => {
    if (d && typeof d === 'object') for (const v of Object.values(d as Record<string, { factory?: unknown }>)) if (typeof v?.factory === 'string') names.add(v.factory);
  };
  hooks(doc.middleware);
  deps(doc.dependencies);
  for (const r of (doc.routes as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof r.handler === 'string') names.add(r.handler);
    hooks(r.middleware);
    deps(r.dependencies);
    deps(r.route_overrides);
  }
  return names;
}

/** The document's route for a declared route. */
function routeDocument(method: string, path: string, o: RouteOptions, handler: string): Record<string, unknown> {
  const where = `${method} ${path}`;
  const r: Record<string, unknown> = { method, path, handler };
  const params: Record<string, ParamGroup> = {};
  if (o.params !== undefined) params.path = paramGroup(o.params, `${where} params`, true);
  if (o.query !== undefined) params.query = paramGroup(o.query, `${where} query`, false);
  if (o.headers !== undefined) params.headers = paramGroup(o.headers, `${where} headers`, false);
  if (o.cookies !== undefined) params.cookies = paramGroup(o.cookies, `${where} cookies`, false);
  if (Object.keys(params).length > 0) r.parameters = params;
  if (o.body !== undefined) r.body_schema = toJSONSchema(o.body, `${where} body`);
  if (o.response !== undefined) r.response_schema = toJSONSchema(o.response, `${where} response`) as JSONSchema;
  if (o.contentType !== undefined) r.content_type = o.contentType;
  if (o.maxBodySize !== undefined) r.max_body_size = o.maxBodySize;
  if (o.middleware !== undefined) r.middleware = o.middleware;
  if (o.security !== undefined) r.security = o.security;
  if (o.operationId !== undefined) r.operation_id = o.operationId;
  if (o.summary !== undefined) r.summary = o.summary;
  if (o.description !== undefined) r.description = o.description;
  if (o.tags !== undefined) r.tags = o.tags;
  if (o.inject !== undefined) r.handler_dependencies = o.inject;
  if (o.sse !== undefined && o.sse !== false) {
    const s = o.sse === true ? {} : o.sse;
    const m: Record<string, unknown> = {};
    if (s.eventSchema !== undefined) m.event_schema = toJSONSchema(s.eventSchema, `${where} sse.eventSchema`);
    if (s.keepAliveMs !== undefined) m.keep_alive_ms = s.keepAliveMs;
    if (s.retryMs !== undefined) m.retry_ms = s.retryMs;
    r.sse = m;
  }
  return r;
}

/** WebSocket route options -> members of the document's "websocket" (the schema aside). */
const WEBSOCKET_MEMBERS: [keyof WebSocketRouteOptions, string][] = [
  ['onInvalid', 'on_invalid'],
  ['subprotocols', 'subprotocols'],
  ['maxMessageBytes', 'max_message_bytes'],
  ['pingIntervalMs', 'ping_interval_ms'],
  ['pongTimeoutMs', 'pong_timeout_ms'],
  ['allowedOrigins', 'allowed_origins'],
  ['compression', 'compression'],
];

/** The document's "websocket" member of a WebSocket route. */
function websocketMember(o: WebSocketRouteOptions, where: string): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (o.messageSchema !== undefined) m.message_schema = toJSONSchema(o.messageSchema, `${where} messageSchema`);
  for (const [k, member] of WEBSOCKET_MEMBERS) if (o[k] !== undefined) m[member] = o[k];
  return m;
}

function checkWebSocketHandlers(name: string, h: WebSocketHandlers): AnyWebSocketHandlers {
  if (h === null || typeof h !== 'object') throw new TypeError(`${name}: WebSocket callbacks are an object { onOpen, onMessage, onClose }`);
  for (const k of ['onOpen', 'onMessage', 'onClose'] as const) {
    if (h[k] !== undefined && typeof h[k] !== 'function') throw new TypeError(`${name}: ${k} must be a function`);
  }
  return h as AnyWebSocketHandlers;
}

/** The handler names of the document's WebSocket routes and event-stream routes. */
function liveNames(doc: Record<string, unknown>): [Set<string>, Set<string>] {
  const ws = new Set<string>();
  const sse = new Set<string>();
  for (const r of (doc.routes as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof r.handler !== 'string') continue;
    if (r.websocket !== undefined && r.websocket !== null) ws.add(r.handler);
    if (r.sse !== undefined && r.sse !== null) sse.add(r.handler);
  }
  return [ws, sse];
}

export { SchemaError };
