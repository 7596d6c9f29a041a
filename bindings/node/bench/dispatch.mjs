// Measures the request representation handed to JavaScript, without the
// network or the library: the validated values as JSON text parsed by
// JSON.parse on first use (what the binding does), or as objects built in C
// with N-API calls. Each call runs what a handler reading its params/body
// costs on the main thread. Prints ns per request, median of 5.
//
//   node bench/dispatch.mjs
import { createRequire } from 'node:module';
const native = createRequire(import.meta.url)('../build/spikard.node');

const cases = {
  'none ({})': '{}',
  'path param': '{"path":{"id":42}}',
  'query (3)': '{"query":{"q":"widget","limit":20,"offset":40}}',
  'body (small)': '{"body":{"name":"widget","price":9.5,"tags":["a","b"]}}',
  'body (1 KiB)': JSON.stringify({ body: { items: Array.from({ length: 12 }, (_, i) => ({ id: i, name: `item number ${i}`, price: i * 1.5, tags: ['x', 'y'] })) } }),
};

let sink = 0;
const readText = (t, g, v) => {
  const o = v === undefined ? {} : JSON.parse(v);
  sink += o.path ? 1 : 0;
};
const readObj = (t, g, v) => {
  sink += v && v.path ? 1 : 0;
};
const N = 200000;
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
console.log('representation      values              ns/request');
for (const [name, json] of Object.entries(cases)) {
  for (const [label, fn, obj] of [['JSON text + parse', readText, false], ['objects from C', readObj, true]]) {
    native.benchValues(fn, json, N, obj); // warm up
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push((native.benchValues(fn, json, N, obj) / N) * 1e9);
    console.log(`${label.padEnd(20)}${name.padEnd(20)}${med(runs).toFixed(0).padStart(6)}`);
  }
}
