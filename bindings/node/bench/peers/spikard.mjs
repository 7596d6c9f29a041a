// The benchmark app on Spikard: json-small, a validated path parameter, a validated JSON POST.
import { Spikard } from '../../esm/index.mjs';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 8080);
const app = new Spikard({ dispatch: process.env.SPIKARD_NODE_DISPATCH ?? 'poll' });
app.get('/json', () => ({ message: 'Hello, World!' }));
app.get('/users/:id', { params: z.object({ id: z.coerce.number().int().min(1) }) }, (req) => ({ id: req.params.id, name: `user${req.params.id}` }));
const Item = z.object({ name: z.string().min(1), price: z.number().nonnegative(), tags: z.array(z.string()).max(10) });
app.post('/items', { body: Item }, (req) => ({ ok: true, name: req.body.name, price: req.body.price }));
// Not a peer scenario: a handler that keeps the main thread busy (~1 KiB of JSON built per
// request), for comparing the dispatch modes where JavaScript is the bottleneck.
const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `row ${i}`, price: i * 1.25, tags: ['a', 'b'] }));
app.get('/heavy', () => ({ total: rows.length, rows: rows.map((r) => ({ ...r, price: r.price * 2 })) }));
await app.listen({ port, host: '127.0.0.1' });
console.log('ready');
const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
