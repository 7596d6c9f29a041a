// The benchmark routes on Hono (@hono/node-server): parameters read and
// converted in the handler, the validated variants checked with ajv against
// the workload table's schemas (Hono has no validator of its own).
'use strict';
const { Hono } = require('hono');
const { serve } = require('@hono/node-server');
const { spec, ajv, colon, objectSchema, convert, uploadOK, listen } = require('../node-common/common.js');

const app = new Hono();
const invalid = (c) => c.json({ detail: 'invalid input' }, 422);

for (const route of spec.routes) {
  for (const validated of [false, true]) {
    const path = colon((validated ? '/v' : '') + route.path);
    const check = route.kind === 'echo' ? ajv.compile(route.body_schema) : route.params ? ajv.compile(objectSchema(route, true)) : null;
    let h;
    switch (route.kind) {
      case 'echo':
        h = async (c) => {
          let body;
          try { body = await c.req.json(); } catch { return c.json({ detail: 'invalid JSON' }, 400); }
          if (validated && !check(body)) return invalid(c);
          return c.json(body);
        };
        break;
      case 'path':
        h = (c) => {
          const v = convert(route, (n) => c.req.param(n), () => null);
          if (!v || (validated && !check(v))) return invalid(c);
          return c.json(v);
        };
        break;
      case 'query':
        h = (c) => {
          const v = convert(route, (n) => c.req.query(n), (n) => c.req.queries(n));
          if (!v || (validated && !check(v))) return invalid(c);
          return c.json(v);
        };
        break;
      case 'form':
        h = async (c) => {
          const f = await c.req.parseBody({ all: true });
          const one = (n) => (Array.isArray(f[n]) ? f[n][0] : f[n]);
          const all = (n) => (f[n] === undefined ? null : [].concat(f[n]));
          const v = convert(route, one, all);
          if (!v || (validated && !check(v))) return invalid(c);
          return c.json(v);
        };
        break;
      case 'multipart':
        h = async (c) => {
          const f = await c.req.parseBody();
          const file = f.file instanceof File ? { filename: f.file.name, mimetype: f.file.type, size: f.file.size } : null;
          if (typeof f.title !== 'string' || !file || (validated && !uploadOK(f.title, file))) return invalid(c);
          return c.json({ title: f.title, filename: file.filename, size: file.size });
        };
        break;
    }
    app.on(route.method, path, h);
  }
}

listen((port) => serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }));
