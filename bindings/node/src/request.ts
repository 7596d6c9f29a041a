// The request a handler receives and the reply it may shape.
//
// Nothing is read or decoded until a handler asks: the validated values
// document (JSON text from the core) is parsed on the first access to
// params / query / headers / cookies / body / deps, and the raw fields
// (headers, query string, body bytes) are fetched from the core's request
// view on first use. The view lives until the request is answered, so read
// raw fields before answering (or in the handler, not in a background task).
import { native, F_BODY, F_HEADERS, F_METHOD, F_PATH, F_QUERY, F_REQUEST_ID, F_VALUES } from './native';

/** Request headers: lower-case names; repeated headers joined with ", " (set-cookie: an array). */
export type IncomingHeaders = Record<string, string | string[] | undefined>;

/** The validated, coerced values the core hands over (only the groups the route declares). */
export interface Values {
  path?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  cookies?: Record<string, unknown>;
  body?: unknown;
  dependencies?: Record<string, unknown>;
  /** Request state set by earlier hooks (req.set). */
  state?: Record<string, unknown>;
  /** Why a hook, factory or cleanup runs (absent for a route's handler). */
  call?: CallInfo;
  [group: string]: unknown;
}

/** Why a handler invocation happens (values.call): a hook, a dependency factory, a cleanup. */
export interface CallInfo {
  kind: 'handler' | 'hook' | 'factory' | 'cleanup' | 'task';
  /** The hook's phase: on_request, pre_validation, pre_handler, on_response, on_error. */
  phase?: string;
  /** The hook's name or the dependency's key. */
  name?: string;
  handler?: string;
  /** The hook's configuration, as written in the document. */
  config?: unknown;
  /** For a cleanup: the value the factory produced. */
  value?: unknown;
  payload?: unknown;
  /** For on_response / on_error hooks: the response so far. */
  response?: { status: number; headers?: Record<string, string>; body?: unknown; [k: string]: unknown };
  /** For on_error hooks: what failed. */
  error?: unknown;
  [k: string]: unknown;
}

/** What a hook asks for when it lets the request go on (spikard_continue). */
export interface Changes {
  request_headers?: Record<string, string>;
  state?: Record<string, unknown>;
}

/** Background tasks of requests, run after their responses (the app awaits them on close). */
export interface TaskRunner {
  schedule(task: () => unknown): void;
}

const EMPTY: Values = Object.freeze({}) as Values;

/**
 * What a handler receives. Type parameters come from the route's schemas
 * (Zod schemas infer them): P params, Q query, B body, H headers, C cookies,
 * D dependencies.
 */
export class SpikardRequest<
  P = Record<string, string>,
  Q = Record<string, unknown>,
  B = unknown,
  H = IncomingHeaders,
  C = Record<string, string>,
  D = Record<string, unknown>,
> {
  /** @internal the core's request token (answer with it). */
  readonly _token: number;
  /** @internal */
  readonly _tasks: TaskRunner;
  #json: string | undefined;
  #values: Values | undefined;
  #headers: IncomingHeaders | undefined;
  #rawHeaders: string | undefined;
  #query: unknown;
  #cookies: unknown;
  #body: unknown;
  #bodyRead = false;
  #rawBody: Buffer | undefined;
  #path: string | undefined;
  #method: string | undefined;
  #search: string | undefined;
  #id: string | undefined;
  /** @internal request headers and state a hook sets. */
  _changes: Changes | undefined;

  /** @internal */
  constructor(token: number, values: string | Values | undefined, tasks: TaskRunner) {
    this._token = token;
    if (typeof values === 'object') this.#values = values;
    else this.#json = values;
    this._tasks = tasks;
  }

  /** The validated values document, parsed. */
  get values(): Values {
    if (this.#values === undefined) this.#values = this.#json === undefined ? EMPTY : (JSON.parse(this.#json) as Values);
    return this.#values;
  }

  /** The validated values document as the core wrote it (JSON text). */
  get valuesJSON(): string {
    if (this.#json === undefined && this.#values !== undefined && this.#values !== EMPTY) {
      this.#json = native.field(this._token, F_VALUES) as string;
    }
    return this.#json ?? '{}';
  }

  /** Path parameters, validated and coerced ({id:int} or the params schema). */
  get params(): P {
    return (this.values.path ?? EMPTY) as P;
  }

  /** Query parameters: the validated ones when the route declares a query schema, else the raw query parsed. */
  get query(): Q {
    if (this.#query === undefined) {
      const v = this.values.query;
      this.#query = v !== undefined ? v : parseQuery(this.querystring);
    }
    return this.#query as Q;
  }

  /** The request body: the validated value when the route declares a body schema; otherwise decoded by its content type (JSON, text, form) or a Buffer. */
  get body(): B {
    if (!this.#bodyRead) {
      this.#bodyRead = true;
      const v = this.values;
      this.#body = 'body' in v ? v.body : this.#decodeBody();
    }
    return this.#body as B;
  }

  /** Every request header (lower-case names), with the declared ones validated and coerced. */
  get headers(): H & IncomingHeaders {
    if (this.#headers === undefined) {
      const h = parseHeaders(this.rawHeaders);
      const declared = this.values.headers;
      if (declared) Object.assign(h, declared);
      this.#headers = h;
    }
    return this.#headers as H & IncomingHeaders;
  }

  /** Cookies: the declared ones validated when the route declares cookies, else every cookie of the Cookie header. */
  get cookies(): C {
    if (this.#cookies === undefined) {
      const v = this.values.cookies;
      this.#cookies = v !== undefined ? v : parseCookies(this.header('cookie'));
    }
    return this.#cookies as C;
  }

  /** Resolved dependencies of the handler (the route's `inject`). */
  get deps(): D {
    return (this.values.dependencies ?? EMPTY) as D;
  }

  /** Why this invocation runs, for hooks and dependency factories (undefined for a route's handler). */
  get call(): CallInfo | undefined {
    return this.values.call;
  }

  /** Request state set by hooks that ran before (req.set). */
  get state(): Record<string, unknown> {
    return (this.values.state ?? EMPTY) as Record<string, unknown>;
  }

  /** In a hook that lets the request go on: stores request state for later hooks and the handler (req.state). */
  set(key: string, value: unknown): this {
    ((this._changes ??= {}).state ??= {})[key] = value;
    return this;
  }

  /** In a hook that lets the request go on (on_request, pre_validation): changes a request header before validation. */
  setHeader(name: string, value: string): this {
    headerLine(name, value);
    ((this._changes ??= {}).request_headers ??= {})[name] = value;
    return this;
  }

  /** The method (GET, POST...). */
  get method(): string {
    return (this.#method ??= native.field(this._token, F_METHOD) as string);
  }

  /** The path, percent-decoded and normalised by the core. */
  get path(): string {
    return (this.#path ??= native.field(this._token, F_PATH) as string);
  }

  /** The raw query string, without "?". */
  get querystring(): string {
    return (this.#search ??= native.field(this._token, F_QUERY) as string);
  }

  /** path + "?" + query, like Node's request.url. */
  get url(): string {
    const q = this.querystring;
    return q ? `${this.path}?${q}` : this.path;
  }

  /** The request id (X-Request-ID or one the core generated). */
  get id(): string {
    return (this.#id ??= native.field(this._token, F_REQUEST_ID) as string);
  }

  /** The Last-Event-ID header: the id of the last event a reconnecting event-stream client saw. */
  get lastEventId(): string | undefined {
    return this.header('last-event-id');
  }

  /**
   * @internal Reads every raw field now, before the request is answered
   * with a stream or a WebSocket event finishes: they stay readable after.
   */
  _detach(): void {
    void this.method;
    void this.path;
    void this.querystring;
    void this.id;
    void this.rawHeaders;
    void this.rawBody;
    void this.valuesJSON;
  }

  /** The header block as received ("Name: value" lines, CRLF-separated). */
  get rawHeaders(): string {
    return (this.#rawHeaders ??= native.field(this._token, F_HEADERS) as string);
  }

  /** The body bytes as received. */
  get rawBody(): Buffer {
    return (this.#rawBody ??= native.field(this._token, F_BODY) as Buffer);
  }

  /** One request header (case-insensitive), undefined when absent. */
  header(name: string): string | undefined {
    const v = this.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : (v as string | undefined);
  }

  /**
   * Runs `task` after the response is sent, on the main thread. Its errors
   * are logged and never change the response; `app.close()` waits for it.
   */
  background(task: () => unknown): void {
    this._tasks.schedule(task);
  }

  #decodeBody(): unknown {
    const raw = this.rawBody;
    if (raw.length === 0) return undefined;
    const ct = (this.header('content-type') ?? '').toLowerCase();
    if (ct.startsWith('application/json') || /^application\/[^;]*\+json/.test(ct)) return JSON.parse(raw.toString('utf8'));
    if (ct.startsWith('text/')) return raw.toString('utf8');
    if (ct.startsWith('application/x-www-form-urlencoded')) return parseQuery(raw.toString('utf8'));
    return raw;
  }
}

function parseHeaders(block: string): IncomingHeaders {
  const out: IncomingHeaders = {};
  if (!block) return out;
  for (const line of block.split('\r\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = name === 'cookie' ? `${prev}; ${value}` : `${prev}, ${value}`;
  }
  return out;
}

function parseQuery(q: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!q) return out;
  for (const [k, v] of new URLSearchParams(q)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

function parseCookies(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    if (!(k in out)) {
      let v = part.slice(i + 1).trim();
      if (v.length > 1 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1);
      try {
        out[k] = decodeURIComponent(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** A "Name: value" line of an answer's header block; throws on a name or value that would break the block. */
export function headerLine(name: string, value: unknown): string {
  const v = String(value);
  if (!TOKEN.test(name)) throw new TypeError(`invalid response header name ${JSON.stringify(name)}`);
  if (BAD_VALUE.test(v)) throw new TypeError(`invalid character in the value of response header ${name}: ${JSON.stringify(v)}`);
  return `${name}: ${v}\n`;
}

/** Options of a Set-Cookie header (reply.cookie). */
export interface CookieOptions {
  maxAge?: number;
  expires?: Date;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none';
  partitioned?: boolean;
}

/**
 * The second argument of a handler that declares two parameters: sets the
 * status and headers of the answer the handler returns, Fastify-style.
 *
 *   app.post('/items', { body }, async (req, reply) => { reply.code(201).header('location', '/items/1'); return item; });
 */
export class Reply {
  /** @internal */ _status = 0;
  /** @internal */ _headers = '';
  /** @internal the same headers by name, for a hook that continues (last value wins). */
  _map: Record<string, string> | undefined;
  /** @internal */ _type: string | undefined;
  /** @internal */ _sent = false;
  /** @internal */ _send: ((value: unknown) => void) | undefined;

  /** Sets the status code. */
  code(status: number): this {
    this._status = status;
    return this;
  }

  /** Sets the status code (alias of code). */
  status(status: number): this {
    this._status = status;
    return this;
  }

  get statusCode(): number {
    return this._status || 200;
  }

  /** Adds a response header (call again with the same name to send it twice). */
  header(name: string, value: string | number | readonly string[]): this {
    if (name.toLowerCase() === 'content-type') {
      this._type = headerLine(name, value).slice(name.length + 2, -1);
      return this;
    }
    if (Array.isArray(value)) for (const v of value) this.#add(name, v);
    else this.#add(name, value);
    return this;
  }

  #add(name: string, value: unknown): void {
    const line = headerLine(name, value);
    this._headers += line;
    (this._map ??= {})[name] = line.slice(name.length + 2, -1);
  }

  /** Adds several response headers. */
  headers(h: Record<string, string | number | readonly string[]>): this {
    for (const k of Object.keys(h)) this.header(k, h[k]!);
    return this;
  }

  /** Sets the Content-Type of the answer. */
  type(contentType: string): this {
    this._type = headerLine('Content-Type', contentType).slice(14, -1);
    return this;
  }

  /** Adds a Set-Cookie header. */
  cookie(name: string, value: string, o: CookieOptions = {}): this {
    let c = `${name}=${encodeURIComponent(value)}`;
    if (o.maxAge !== undefined) c += `; Max-Age=${Math.floor(o.maxAge)}`;
    if (o.expires) c += `; Expires=${o.expires.toUTCString()}`;
    if (o.domain) c += `; Domain=${o.domain}`;
    c += `; Path=${o.path ?? '/'}`;
    if (o.secure) c += '; Secure';
    if (o.httpOnly) c += '; HttpOnly';
    if (o.sameSite) c += `; SameSite=${o.sameSite[0]!.toUpperCase()}${o.sameSite.slice(1).toLowerCase()}`;
    if (o.partitioned) c += '; Partitioned';
    this.#add('Set-Cookie', c);
    return this;
  }

  /** Clears a cookie (Max-Age=0). */
  clearCookie(name: string, o: CookieOptions = {}): this {
    return this.cookie(name, '', { ...o, maxAge: 0 });
  }

  /** Redirects (302 unless given). */
  redirect(url: string, status = 302): this {
    this._status = status;
    this.#add('Location', url);
    if (this._send) this._send(undefined);
    return this;
  }

  /** Answers now with `value` (what the handler returns afterwards is ignored). */
  send(value?: unknown): this {
    if (this._send) this._send(value);
    return this;
  }

  /** True once the answer was given. */
  get sent(): boolean {
    return this._sent;
  }
}
