// The benchmark routes on Express 5: express.json / express.urlencoded /
// multer parse the bodies, handlers convert parameters, and the validated
// variants are checked with ajv against the workload table's schemas.
'use strict';
const express = require('express');
const multer = require('multer');
const { spec, ajv, colon, objectSchema, convert, uploadOK, listen } = require('../node-common/common.js');

const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.set('query parser', 'simple');
const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 10 << 20 } });
const json = express.json({ limit: '10mb' });
const form = express.urlencoded({ extended: false });
const invalid = (res) => res.status(422).json({ detail: 'invalid input' });
const all = (o, n) => (o[n] === undefined ? null : [].concat(o[n]));
const one = (o, n) => (Array.isArray(o[n]) ? o[n][0] : o[n]);

for (const route of spec.routes) {
  for (const validated of [false, true]) {
    const path = colon((validated ? '/v' : '') + route.path);
    const check = route.kind === 'echo' ? ajv.compile(route.body_schema) : route.params ? ajv.compile(objectSchema(route, true)) : null;
    const m = route.method.toLowerCase();
    switch (route.kind) {
      case 'echo':
        app[m](path, json, (req, res) => (validated && !check(req.body) ? invalid(res) : res.json(req.body)));
        break;
      case 'path':
      case 'query':
      case 'form': {
        const src = route.kind === 'path' ? 'params' : route.kind === 'query' ? 'query' : 'body';
        const mw = route.kind === 'form' ? [form] : [];
        app[m](path, ...mw, (req, res) => {
          const o = req[src] || {};
          const v = convert(route, (n) => one(o, n), (n) => all(o, n));
          if (!v || (validated && !check(v))) return invalid(res);
          res.json(v);
        });
        break;
      }
      case 'multipart':
        app[m](path, upload.single('file'), (req, res) => {
          const f = req.file && { filename: req.file.originalname, mimetype: req.file.mimetype, size: req.file.size };
          const title = req.body && req.body.title;
          if (typeof title !== 'string' || !f || (validated && !uploadOK(title, f))) return invalid(res);
          res.json({ title, filename: f.filename, size: f.size });
        });
        break;
    }
  }
}
app.use((err, req, res, next) => res.status(err.status || 400).json({ detail: String(err.message) }));

listen((port) => app.listen(port, '127.0.0.1'));
