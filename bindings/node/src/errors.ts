// Errors a handler may throw on purpose, and the binding's own errors.

/**
 * Throw (or reject with) an HttpError to answer a problem document
 * (RFC 9457) with this status instead of the 500 a failing handler gets:
 *
 *   throw new HttpError(404, 'no such user', { detail: `user ${id} does not exist` });
 *
 * Errors with a numeric `statusCode` or `status` from 400 to 599 (http-errors,
 * @fastify/error) are answered the same way.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly detail?: string;
  readonly type?: string;
  readonly headers?: Record<string, string>;
  /** Extra members of the problem document. */
  readonly extensions?: Record<string, unknown>;

  constructor(
    status: number,
    title?: string,
    options: {
      detail?: string;
      type?: string;
      headers?: Record<string, string>;
      extensions?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(title ?? defaultTitle(status), { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.detail = options.detail;
    this.type = options.type;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  get statusCode(): number {
    return this.status;
  }
}

/** An error of libspikard: `code` is its name (SPIKARD_ECONFIG...), `errno` its number. */
export interface SpikardError extends Error {
  code: string;
  errno: number;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  418: "I'm a teapot",
  422: 'Unprocessable Content',
  423: 'Locked',
  424: 'Failed Dependency',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function defaultTitle(status: number): string {
  return titles[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/**
 * Thrown into an event stream's generator, at the `yield` of an event that
 * the route's `sse.eventSchema` rejects: the event was not sent. Catch it to
 * go on with the next event; left uncaught it ends the generator and the
 * stream is cut off as for any other error.
 */
export class SSEEventError extends Error {
  readonly code = 'SPIKARD_EINVAL';
  readonly errno = -1;
  constructor(message: string) {
    super(message);
    this.name = 'SSEEventError';
  }
}

/**
 * A WebSocket send or close the core refused: `code` SPIKARD_ECLOSED when the
 * connection is closing or closed, SPIKARD_EINVAL for a bad close code or
 * reason.
 */
export class WebSocketError extends Error implements SpikardError {
  readonly code: string;
  readonly errno: number;
  constructor(code: string, errno: number, message: string) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    this.errno = errno;
  }
}
