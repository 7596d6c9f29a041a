// Type-level helpers: what a handler's request and answer look like, read
// from the route's schemas. Zod 4 schemas (and any Standard Schema) carry
// their output type; plain JSON Schema objects give the fallback.
import type { IncomingHeaders, SpikardRequest, Reply } from './request';
import type { SchemaInput } from './schema';
import type { StreamSource, StreamChunk, SSEEvent } from './live';

/** The output type of a schema library object, or F for a plain JSON Schema / no schema. */
export type Infer<S, F = unknown> = [S] extends [undefined]
  ? F
  : S extends { readonly _zod: { readonly output: infer O } }
    ? O
    : S extends { readonly '~standard': { readonly types?: infer T } }
      ? NonNullable<T> extends { readonly output: infer O }
        ? O
        : F
      : F;

/**
 * The input type of a schema library object (what passed validation,
 * unchanged): request bodies are validated, not converted, by the core (no
 * coercion of JSON, no defaults filled in), so a body has its schema's input
 * type.
 */
export type InferInput<S, F = unknown> = [S] extends [undefined]
  ? F
  : S extends { readonly _zod: { readonly input: infer I } }
    ? I
    : S extends { readonly '~standard': { readonly types?: infer T } }
      ? NonNullable<T> extends { readonly input: infer I }
        ? I
        : F
      : F;

/** An answer given as status, headers and body. */
export interface ResponseLike<B = unknown> {
  status: number;
  headers?: Record<string, string | number | readonly string[]>;
  body?: B;
}

/**
 * What a handler may return: the body (an object or array is sent as JSON,
 * a string as text/plain, a Buffer or TypedArray as application/octet-stream,
 * undefined as 204), a {status, headers, body} object, a WHATWG Response, or
 * a stream source (an async iterable such as an async generator, a Node
 * Readable or a web ReadableStream; a generator), whose chunks are sent as
 * they come, or, on an event-stream route, whose events are.
 */
export type HandlerResult<R = unknown> =
  | R
  | ResponseLike<R | StreamSource<StreamChunk | SSEEvent | unknown>>
  | string
  | Uint8Array
  | ArrayBuffer
  | Response
  | StreamSource<StreamChunk | SSEEvent | unknown>
  | void
  | null;

/** An event-stream route (`sse` option): the document's "sse" member. */
export interface SSEOptions {
  /**
   * The schema of every event's data (parsed as JSON): an event that breaks
   * it is not sent, and its yield throws an SSEEventError.
   */
  eventSchema?: SchemaInput;
  /** Idle time after which a comment line keeps the connection open (default 15000 ms; negative: never). */
  keepAliveMs?: number;
  /** Sent first: the client's reconnection delay in milliseconds. */
  retryMs?: number;
}

/** Route options: schemas (Zod or JSON Schema) and the route's document members. */
export interface RouteOptions<
  PS extends SchemaInput | undefined = undefined,
  QS extends SchemaInput | undefined = undefined,
  BS extends SchemaInput | undefined = undefined,
  HS extends SchemaInput | undefined = undefined,
  CS extends SchemaInput | undefined = undefined,
  RS extends SchemaInput | undefined = undefined,
> {
  /** Path parameters: an object schema, one property per parameter. */
  params?: PS;
  /** Query parameters: an object schema; optional properties are optional parameters. */
  query?: QS;
  /** The request body (JSON, forms and multipart are decoded by the core). */
  body?: BS;
  /** Declared request headers (names are case-insensitive; "_" matches "-"). */
  headers?: HS;
  /** Declared cookies. */
  cookies?: CS;
  /** The response body of 2xx JSON answers; an answer that breaks it becomes a 500. */
  response?: RS;
  /** The only request media type accepted. */
  contentType?: string;
  /** This route's body limit in bytes. */
  maxBodySize?: number;
  /** The route's middleware configuration (the document's "middleware" member). */
  middleware?: Record<string, unknown>;
  /** OpenAPI security requirement (enforced by the auth middleware). */
  security?: unknown;
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  /** Dependency keys the handler receives as req.deps (app.provide). */
  inject?: string[];
  /**
   * An event-stream route: the handler returns (or is) an async generator
   * of events (`{ event, data, id, retry, comment }` or strings), sent as
   * text/event-stream with keep-alive comments while idle.
   */
  sse?: SSEOptions | boolean;
  /** Route-level lifecycle hooks (after the app's hooks of the same phase). */
  onRequest?: RouteHook | RouteHook[];
  preValidation?: RouteHook | RouteHook[];
  preHandler?: RouteHook | RouteHook[];
  onResponse?: RouteHook | RouteHook[];
  onError?: RouteHook | RouteHook[];
}

/** A route-level hook (see Hook). */
export type RouteHook = (req: SpikardRequest<any, any, any, any, any, any>, reply: Reply) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A route handler with the request typed by the route's schemas. */
export type Handler<
  PS extends SchemaInput | undefined = undefined,
  QS extends SchemaInput | undefined = undefined,
  BS extends SchemaInput | undefined = undefined,
  HS extends SchemaInput | undefined = undefined,
  CS extends SchemaInput | undefined = undefined,
  RS extends SchemaInput | undefined = undefined,
> = (
  req: SpikardRequest<
    Infer<PS, Record<string, string>>,
    Infer<QS, Record<string, unknown>>,
    InferInput<BS, unknown>,
    Infer<HS, IncomingHeaders>,
    Infer<CS, Record<string, string>>
  >,
  reply: Reply,
) => HandlerResult<Infer<RS, unknown>> | Promise<HandlerResult<Infer<RS, unknown>>>;

/** A WebSocket route's options (app.ws): schemas of the upgrade request and the route's "websocket" member. */
export interface WebSocketRouteOptions<
  PS extends SchemaInput | undefined = undefined,
  QS extends SchemaInput | undefined = undefined,
  HS extends SchemaInput | undefined = undefined,
  CS extends SchemaInput | undefined = undefined,
> extends Pick<RouteOptions<PS, QS, undefined, HS, CS>, 'params' | 'query' | 'headers' | 'cookies' | 'middleware' | 'operationId' | 'summary' | 'description' | 'tags'> {
  /**
   * The JSON Schema every incoming message (parsed as JSON) must match: a
   * message that does not is answered with a validation problem (a text
   * message) and never reaches onMessage (onInvalid "close": closed with 1007).
   */
  messageSchema?: SchemaInput;
  onInvalid?: 'error' | 'close';
  /** Subprotocols in order of preference; the first the client offers is selected. */
  subprotocols?: string[];
  /** The largest incoming message (default 1 MiB); a larger one closes with 1009. */
  maxMessageBytes?: number;
  /** How often the server pings (default 30000 ms; negative: never) and how long it waits for a sign of life after. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Origin values accepted ("*": any); by default a browser Origin must be the Host's. */
  allowedOrigins?: string[];
  /** Negotiate permessage-deflate when the client offers it. */
  compression?: boolean;
}
