// Shared by the Node peers: the workload table (BENCH_SPEC), ajv validators
// compiled from its schemas, and the conversions a plain route needs.
'use strict';
const fs = require('node:fs');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const spec = JSON.parse(fs.readFileSync(process.env.BENCH_SPEC, 'utf8'));
const ajv = addFormats(new Ajv({ allErrors: false, coerceTypes: false }));

// Express-style path (":name") of a route path ("{name}").
const colon = (p) => p.replace(/\{(\w+)\}/g, ':$1');

// An object schema of a route's fields (validated or plain types).
function objectSchema(route, validated) {
  const properties = {};
  for (const f of route.params) properties[f.name] = validated ? f.schema : f.plain_schema;
  return { type: 'object', properties, required: route.params.map((f) => f.name) };
}

// Converts raw string values to each field's type; null when one does not convert.
function convert(route, get, getAll) {
  const out = {};
  for (const f of route.params) {
    const t = f.plain_schema.type;
    if (t === 'array') {
      const all = getAll(f.name);
      if (!all || all.length === 0) return null;
      out[f.name] = all;
      continue;
    }
    const v = get(f.name);
    if (v === undefined || v === null) return null;
    if (t === 'integer') {
      if (!/^-?\d+$/.test(v)) return null;
      out[f.name] = Number(v);
    } else if (t === 'number') {
      const n = Number(v);
      if (v === '' || Number.isNaN(n)) return null;
      out[f.name] = n;
    } else if (t === 'boolean') {
      if (v === 'true' || v === '1') out[f.name] = true;
      else if (v === 'false' || v === '0') out[f.name] = false;
      else return null;
    } else out[f.name] = v;
  }
  return out;
}

// Checks an upload by hand (validated multipart).
function uploadOK(title, file) {
  return typeof title === 'string' && title.length >= 1 && title.length <= 100 && file && file.filename &&
    file.mimetype === 'text/plain' && file.size >= 1 && file.size <= 1 << 20;
}

function listen(start) {
  const port = Number(process.env.PORT || 0);
  const stop = () => process.exit(0); // exit() flushes --cpu-prof
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return start(port);
}

module.exports = { spec, ajv, colon, objectSchema, convert, uploadOK, listen };
