#!/usr/bin/env node
// The Node binding's conformance fixture app (cmd/conformance/PROTOCOL.md),
// written with the binding's public API: it reads scenario apps from stdin,
// one JSON line each, serves them on 127.0.0.1, and answers on stdout.
//
//   in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
//   out: {"port": N}            or {"error": "..."}
//   in:  {"stop": true}
//   out: {"stopped": true}
//   EOF: stop and exit.
//
// The document goes to Spikard.fromConfig as it is; every handler spec
// becomes a handler bound with app.handle(name, fn), or, for a "websocket"
// spec, WebSocket callbacks bound with app.handleWebSocket(name, {...}).
// Logs go to stderr.
'use strict';

const readline = require('node:readline');
const crypto = require('node:crypto');
const { Spikard, SSEEventError } = require('..');

const out = (v) => process.stdout.write(JSON.stringify(v) + '\n');

let current = null; // { app }

async function stop() {
  if (!current) return;
  const { app } = current;
  current = null;
  try {
    await app.close({ timeoutMs: 5000 });
  } catch (e) {
    process.stderr.write(`fixtureapp: close: ${e.stack}\n`);
  }
}

async function start(line, msg) {
  const raws = rawMembers(line);
  const app = Spikard.fromConfig(msg.app);
  const states = new Map();
  for (const [name, spec] of Object.entries(msg.handlers ?? {})) {
    if (spec?.websocket) app.handleWebSocket(name, wsHandlers(spec.websocket));
    else app.handle(name, handler(spec ?? {}, raws.get(name), states));
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  current = { app };
  return app.port;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// handler turns a spec of the catalogue into a handler (PROTOCOL.md, "Handler spec").
function handler(spec, rawBody, states) {
  const status = spec.status || 200;
  const headers = { ...(spec.headers ?? {}) };
  if (Array.isArray(spec.set_cookies) && spec.set_cookies.length) headers['Set-Cookie'] = spec.set_cookies;
  const ct = spec.content_type ?? '';
  let body;
  if (spec.body_raw !== undefined && spec.body_raw !== null) {
    body = String(spec.body_raw);
    if (ct) headers['Content-Type'] = ct;
  } else if (spec.body !== undefined && spec.body !== null) {
    body = rawBody ?? JSON.stringify(spec.body); // the JSON text as received
    headers['Content-Type'] = ct || 'application/json';
  } else if (ct) {
    headers['Content-Type'] = ct;
  }
  const add = (name, v) => {
    if (!states.has(name)) states.set(name, []);
    states.get(name).push(v);
  };
  const needsValues =
    (spec.require?.length ?? 0) + Object.keys(spec.fill ?? {}).length + Object.keys(spec.headers_from ?? {}).length > 0 ||
    spec.background;

  const run = (req, reply) => {
    const values = needsValues || spec.record || spec.cleanup_record ? req.values : undefined;
    if (values?.call?.kind === 'cleanup') {
      for (const r of spec.cleanup_record ?? []) add(r.state, r.value);
      return undefined;
    }
    for (const p of spec.require ?? []) {
      if (pointer(values, p) === MISSING) throw new Error(`fixtureapp: required ${p} is not in the values document ${req.valuesJSON}`);
    }
    for (const r of spec.record ?? []) add(r.state, r.value !== undefined ? r.value : values?.call?.name);
    if (spec.raise) throw new Error('fixtureapp: the handler raised, as the scenario asks');
    let h = headers;
    if (spec.headers_from) {
      h = { ...headers };
      for (const [k, p] of Object.entries(spec.headers_from)) {
        const v = pointer(values, p);
        if (v === MISSING) throw new Error(`fixtureapp: headers_from ${k}: no ${p} in the values document`);
        h[k] = typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    if (spec.background) {
      const v = pointer(values, spec.background.from);
      if (v === MISSING) throw new Error(`fixtureapp: background: no ${spec.background.from} in the values document`);
      req.background(() => add(spec.background.state, v));
    }
    if (spec.continue) {
      // a hook that lets the request go on keeps the headers it set
      for (const [k, v] of Object.entries(h)) reply.header(k, v);
      return undefined;
    }
    if (spec.stream) return { status, headers: h, body: chunks(spec.stream) };
    if (spec.sse) return { status, headers: h, body: events(spec.sse, req) };
    if (spec.state) return { status, headers: h, body: { [spec.state]: states.get(spec.state) ?? [] } };
    if (spec.generate === 'uuid') return { status, headers: { ...h, 'Content-Type': 'application/json' }, body: JSON.stringify(crypto.randomUUID()) };
    if (spec.generate) throw new Error(`fixtureapp: unknown generate ${spec.generate}`);
    if (spec.echo) return { status, headers: { ...h, 'Content-Type': 'application/json' }, body: req.valuesJSON };
    if (spec.fill && body !== undefined) {
      let doc = JSON.parse(body);
      for (const [target, source] of Object.entries(spec.fill)) {
        const v = pointer(values, source);
        if (v === MISSING) throw new Error(`fixtureapp: fill ${target}: no ${source} in the values document`);
        if (target === '') doc = v;
        else {
          const i = target.lastIndexOf('/');
          const parent = pointer(doc, target.slice(0, i));
          if (parent === MISSING || typeof parent !== 'object' || parent === null) throw new Error(`fixtureapp: fill ${target}: the body has no object there`);
          parent[unescape(target.slice(i + 1))] = v;
        }
      }
      return { status, headers: h, body: JSON.stringify(doc) };
    }
    return { status, headers: h, body };
  };
  if (spec.sleep_ms > 0) {
    return async (req, reply) => {
      await sleep(spec.sleep_ms);
      return run(req, reply);
    };
  }
  return run;
}

// chunks streams each chunk as it comes (PROTOCOL.md, "stream").
async function* chunks({ chunks = [], delay_ms: delay = 0 }) {
  const bytes = chunks.map((b64) => Buffer.from(b64, 'base64'));
  for (const b of bytes) {
    if (delay > 0) await sleep(delay);
    yield b;
  }
}

// events sends the events in order; one the route's event schema rejects
// is skipped. With resume, events whose numeric id is not above the
// client's Last-Event-ID are skipped too (PROTOCOL.md, "sse").
async function* events({ events: list = [], delay_ms: delay = 0, resume = false }, req) {
  const last = resume && /^\d+$/.test(req.lastEventId ?? '') ? Number(req.lastEventId) : undefined;
  for (const e of list) {
    if (last !== undefined && /^\d+$/.test(e.id ?? '') && Number(e.id) <= last) continue;
    if (delay > 0) await sleep(delay);
    try {
      yield { event: e.event, id: e.id, data: e.data, comment: e.comment, retry: e.retry_ms };
    } catch (err) {
      if (!(err instanceof SSEEventError)) throw err;
    }
  }
}

// wsHandlers greets, echoes every message as it came, and closes on
// close_on.text (PROTOCOL.md, "websocket").
function wsHandlers(spec) {
  return {
    onOpen(ws) {
      if (spec.greeting !== undefined) ws.sendJson(spec.greeting);
    },
    onMessage(ws, msg) {
      const c = spec.close_on;
      if (c && typeof msg === 'string' && msg === c.text) {
        ws.close(c.code, c.reason ?? '');
        return undefined;
      }
      return spec.echo ? msg : undefined;
    },
  };
}

const MISSING = Symbol('missing');
const unescape = (t) => t.replaceAll('~1', '/').replaceAll('~0', '~');

// pointer resolves a JSON pointer (RFC 6901).
function pointer(doc, p) {
  if (p === '') return doc;
  if (!p || p[0] !== '/') return MISSING;
  let cur = doc;
  for (const tok of p.slice(1).split('/').map(unescape)) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, tok)) return MISSING;
    cur = cur[tok];
  }
  return cur;
}

// rawMembers returns, for each handler of the line, the JSON text of its
// "body" member as written (large integers and number spellings survive).
function rawMembers(line) {
  const res = new Map();
  let i = 0;
  const ws = () => {
    while (i < line.length && ' \t\r\n'.includes(line[i])) i++;
  };
  const str = () => {
    const s = i;
    i++;
    while (line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(line.slice(s, i));
  };
  // value(path) skips one value, recording handlers.<name>.body spans.
  const value = (path) => {
    ws();
    const s = i;
    const c = line[i];
    if (c === '{') {
      i++;
      ws();
      if (line[i] === '}') {
        i++;
      } else {
        for (;;) {
          ws();
          const k = str();
          ws();
          i++; // :
          value([...path, k]);
          ws();
          if (line[i++] === '}') break;
        }
      }
    } else if (c === '[') {
      i++;
      ws();
      if (line[i] === ']') i++;
      else
        for (;;) {
          value(null);
          ws();
          if (line[i++] === ']') break;
        }
    } else if (c === '"') {
      str();
    } else {
      while (i < line.length && !',}] \t\r\n'.includes(line[i])) i++;
    }
    if (path && path.length === 3 && path[0] === 'handlers' && path[2] === 'body') res.set(path[1], line.slice(s, i));
    if (path && path.length > 2) return;
  };
  try {
    value([]);
  } catch {
    res.clear();
  }
  return res;
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      out({ error: `bad protocol line: ${e.message}` });
      continue;
    }
    if (msg.stop) {
      await stop();
      out({ stopped: true });
    } else if (msg.app) {
      await stop();
      try {
        out({ port: await start(line, msg) });
      } catch (e) {
        out({ error: e.message });
      }
    } else {
      out({ error: 'unknown message: want {"app":...} or {"stop":true}' });
    }
  }
  await stop();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`fixtureapp: ${e.stack}\n`);
  process.exit(1);
});
