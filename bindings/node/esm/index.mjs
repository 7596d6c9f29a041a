// The ES module entry point: the same objects as the CommonJS build (one
// copy of the library and its libspikard per process).
import { createRequire } from 'node:module';

const cjs = createRequire(import.meta.url)('../dist/index.js');

export const { Spikard, SchemaError, SpikardRequest, Reply, HttpError, SSEEventError, WebSocketError, WebSocketConnection, libraryVersion, abiVersion } = cjs;
export default cjs.Spikard;
