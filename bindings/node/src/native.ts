// Loads the N-API addon (build/spikard.node, linked with build/libspikard.so
// through its rpath). One libspikard per process: Node caches the addon, so
// every copy of this module shares it.
import * as path from 'node:path';

/** The addon's functions (src/addon.c). Internal: not API. */
export interface Native {
  abiVersion(): number;
  version(): string;
  appNew(document: string, dispatch: (token: number, tag: number, values: any) => void, mode: number): number; // eslint-disable-line @typescript-eslint/no-explicit-any
  bind(app: number, name: string, tag: number): void;
  config(app: number): string;
  listen(app: number, host: string, port: number): number;
  shutdown(app: number, timeoutMs: number): Promise<number>;
  free(app: number): void;
  respond(token: number, status: number, headers: string | undefined, body: Chunk | undefined): number;
  respondError(token: number, message: string | undefined): number;
  continueRequest(token: number, changes: string | undefined): number;
  openapi(app: number): string;
  field(token: number, which: number): string | Buffer;
  openRequests(): number;
  signalsOnStack(): number;
  /** [wake-ups, batches, requests] dispatched so far (benchmarks). */
  stats(): [number, number, number];
  /** Where the results of queued stream / WebSocket calls go: onDone([ticket, code, message, ...]). */
  liveInit(onDone: (results: (number | string | undefined)[]) => void): void;
  /** The stream handle (> 0), or a code (< 0). */
  streamBegin(token: number, status: number, headers: string): number;
  /** Bytes queued (>= 0), or the stream's failure code (< 0). */
  streamWrite(stream: number, chunk: Chunk): number;
  streamFlush(stream: number, ticket: number): number;
  sseSend(stream: number, event: string | undefined, data: Chunk | undefined, id: string | undefined, comment: string | undefined, retryMs: number, ticket: number): number;
  streamEnd(stream: number, ticket: number): number;
  streamFail(stream: number, message: string, ticket: number): number;
  wsSend(conn: number, opcode: number, data: Chunk, ticket: number): number;
  wsClose(conn: number, code: number, reason: string, ticket: number): number;
  wsRelease(conn: number): number;
  /** [channels with queued calls, writer threads] (tests). */
  openChannels(): [number, number];
  /** bench/dispatch.mjs only. */
  benchValues(fn: (token: number, tag: number, values: unknown) => void, valuesJSON: string, n: number, asObjects: boolean): number;
}

/** Bytes the addon takes: a string is sent as UTF-8. */
export type Chunk = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/** field(token, which) selectors (src/addon.c). */
export const F_METHOD = 0;
export const F_PATH = 1;
export const F_QUERY = 2;
export const F_HEADERS = 3;
export const F_REQUEST_ID = 4;
export const F_BODY = 5;
export const F_HANDLER = 6;
export const F_VALUES = 7;

/** Result codes of libspikard (include/spikard.h). */
export const OK = 0;
export const EINVAL = -1;
export const ESTATE = -6;
export const ETIMEOUT = -5;
export const ECLOSED = -8;

/** spikard_request.kind of WebSocket events (include/spikard.h). */
export const KIND_WS_MESSAGE = 1;
export const KIND_WS_CLOSE = 2;
export const KIND_WS_OPEN = 4;

const CODE_NAMES: Record<number, string> = {
  [-1]: 'SPIKARD_EINVAL',
  [-2]: 'SPIKARD_EBADHANDLE',
  [-5]: 'SPIKARD_ETIMEOUT',
  [-6]: 'SPIKARD_ESTATE',
  [-8]: 'SPIKARD_ECLOSED',
  [-11]: 'SPIKARD_EINTERNAL',
};

/** The name of a result code (SPIKARD_ECLOSED...). */
export function codeName(rc: number): string {
  return CODE_NAMES[rc] ?? `SPIKARD_E${rc}`;
}

function load(): Native {
  const file = path.join(__dirname, '..', 'build', 'spikard.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as Native;
  } catch (e) {
    const err = e as Error;
    const msg = [
      `spikard: cannot load the native addon ${file}`,
      `  ${err.message}`,
      '  It is built when the package is installed (scripts/build.js: go build of libspikard, then',
      '  cc of src/addon.c). Rebuild it with `npm run build` inside the package folder; that needs',
      '  Go, a C compiler and the Node headers (node_api.h).',
    ].join('\n');
    throw new Error(msg, { cause: e });
  }
}

export const native: Native = load();

let guarded = false;

/**
 * Keeps every signal handler of the process on the alternate signal stack
 * (SA_ONSTACK), as libspikard's Go runtime requires of handlers installed
 * after it was loaded: libuv installs those of process.on('SIGTERM') and of
 * child processes without the flag. Fixed when a signal listener is added,
 * and checked once a second (an unref'd timer) while an app is listening.
 */
export function guardSignals(): () => void {
  native.signalsOnStack();
  if (!guarded) {
    guarded = true;
    process.on('newListener', (event) => {
      if (typeof event === 'string' && event.startsWith('SIG')) setImmediate(() => native.signalsOnStack());
    });
  }
  const t = setInterval(() => native.signalsOnStack(), 1000);
  t.unref();
  return () => clearInterval(t);
}
