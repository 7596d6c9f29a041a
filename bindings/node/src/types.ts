// Type-level helpers: what a handler's request and answer look like, read
// from the route's schemas. Zod 4 schemas (and any Standard Schema) carry
// their output type; plain JSON Schema objects give the fallback.
import type { IncomingHeaders, SpikardRequest, Reply } from './request';
import type { SchemaInput } from './schema';

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
 * undefined as 204), a {status, headers, body} object, or a WHATWG Response.
 */
export type HandlerResult<R = unknown> = R | ResponseLike<R> | string | Uint8Array | ArrayBuffer | Response | void | null;

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
