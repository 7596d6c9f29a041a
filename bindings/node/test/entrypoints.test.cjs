// CommonJS and ES module entry points expose the same objects (one copy of
// the library per process).
const { test } = require('node:test');
const assert = require('node:assert/strict');

test('require and import give the same classes', async () => {
  const cjs = require('spikard');
  const esm = await import('spikard');
  assert.equal(esm.Spikard, cjs.Spikard);
  assert.equal(esm.default, cjs.Spikard);
  assert.equal(esm.HttpError, cjs.HttpError);
  for (const k of Object.keys(cjs)) assert.ok(k in esm, `${k} is missing from the ES module`);
});

test('a CommonJS app serves', async () => {
  const { Spikard } = require('spikard');
  const app = new Spikard();
  app.get('/hi/:name', (req) => ({ hi: req.params.name }));
  await app.listen(0);
  const r = await app.inject('/hi/ada');
  assert.deepEqual(r.json(), { hi: 'ada' });
  await app.close();
});
