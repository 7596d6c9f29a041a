// The benchmark routes on Fastify 5: every route declared with its JSON
// Schemas (the validated variants the workload table's constraints, the
// plain ones types only), validated and coerced by Fastify's ajv.
'use strict';
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const { spec, colon, objectSchema, uploadOK, listen } = require('../node-common/common.js');

const app = require('fastify')({ logger: false });
app.register(require('@fastify/formbody'));
app.register(require('@fastify/multipart'), { limits: { fileSize: 10 << 20 } });

// Fastify's own ajv settings (coerceTypes 'array') for parameters and
// forms; JSON bodies strictly (a "1" is not a number).
const coercing = addFormats(new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: true, allErrors: false }));
const strict = addFormats(new Ajv({ coerceTypes: false, allErrors: false }));
app.setValidatorCompiler(({ schema, httpPart, url }) =>
  (httpPart === 'body' && url.endsWith('/json') ? strict : coercing).compile(schema));

const pick = (route, o) => Object.fromEntries(route.params.map((f) => [f.name, o[f.name]]));

for (const route of spec.routes) {
  for (const validated of [false, true]) {
    const url = colon((validated ? '/v' : '') + route.path);
    const schema = {};
    let handler;
    switch (route.kind) {
      case 'echo':
        if (validated) schema.body = route.body_schema;
        handler = async (req) => req.body;
        break;
      case 'path':
        schema.params = objectSchema(route, validated);
        handler = async (req) => pick(route, req.params);
        break;
      case 'query':
        schema.querystring = objectSchema(route, validated);
        handler = async (req) => pick(route, req.query);
        break;
      case 'form':
        schema.body = objectSchema(route, validated);
        handler = async (req) => pick(route, req.body);
        break;
      case 'multipart':
        handler = async (req, reply) => {
          let title, file;
          for await (const part of req.parts()) {
            if (part.type === 'file') {
              const buf = await part.toBuffer();
              if (part.fieldname === 'file') file = { filename: part.filename, mimetype: part.mimetype, size: buf.length };
            } else if (part.fieldname === 'title') title = part.value;
          }
          if (title === undefined || !file || (validated && !uploadOK(title, file))) {
            return reply.code(422).send({ detail: 'invalid upload' });
          }
          return { title, filename: file.filename, size: file.size };
        };
        break;
    }
    app.route({ method: route.method, url, schema, handler });
  }
}

listen((port) => app.listen({ port, host: '127.0.0.1' }));
