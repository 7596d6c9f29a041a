// Spikard for Node.js: the public API.
//
//   import { Spikard } from 'spikard';
//   import { z } from 'zod';
//
//   const app = new Spikard();
//   app.get('/users/:id', { params: z.object({ id: z.coerce.number().int() }) }, async (req) => ({ id: req.params.id }));
//   await app.listen({ port: 3000 });
import { native } from './native';

export { Spikard, SchemaError } from './app';
export type { SpikardOptions, ListenOptions, CloseOptions, InjectOptions, InjectResponse, DispatchMode, HookPhase, Hook, HookOptions, Factory, FactoryOptions } from './app';
export { SpikardRequest, Reply } from './request';
export type { IncomingHeaders, Values, CookieOptions, CallInfo } from './request';
export { HttpError, SSEEventError, WebSocketError } from './errors';
export { WebSocketConnection } from './live';
export type { SSEEvent, StreamChunk, StreamSource, WebSocketHandlers, WebSocketMessage, WebSocketData } from './live';
export type { SpikardError } from './errors';
export type { JSONSchema, SchemaInput, StandardJSONSchemaLike } from './schema';
export type { Infer, InferInput, Handler, HandlerResult, ResponseLike, RouteOptions, RouteHook, SSEOptions, WebSocketRouteOptions } from './types';

/** The version of the loaded libspikard ("MAJOR.MINOR.PATCH"). */
export const libraryVersion: string = native.version();
/** The C ABI version of the loaded libspikard. */
export const abiVersion: number = native.abiVersion();
