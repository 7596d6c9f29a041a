// The benchmark routes on the Node binding (bindings/node): the workload
// table's core document (BENCH_DOC) served as it is, one handler per route
// kind answering from the request's validated values.
'use strict';
const fs = require('node:fs');
const { Spikard } = require(process.env.SPIKARD_NODE_PACKAGE);

const app = Spikard.fromConfig(fs.readFileSync(process.env.BENCH_DOC, 'utf8'));
app.handle('echo', (req, reply) => {
  // The core has parsed (and on /v/json validated) the body.
  reply.header('content-type', 'application/json');
  return req.rawBody;
});
app.handle('path', (req) => req.params);
app.handle('query', (req) => req.query);
app.handle('form', (req) => req.body);
app.handle('multipart', (req) => {
  const { title, file } = req.body;
  return { title, filename: file.filename, size: file.size };
});

const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
app.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1' });
