// The benchmark app on Express 5 (express.json() and Zod 4 safeParse in the handlers).
import express from 'express';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 8080);
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(express.json());
app.get('/json', (req, res) => res.json({ message: 'Hello, World!' }));
const Params = z.object({ id: z.coerce.number().int().min(1) });
app.get('/users/:id', (req, res) => {
  const p = Params.safeParse(req.params);
  if (!p.success) return res.status(422).json({ errors: p.error.issues });
  res.json({ id: p.data.id, name: `user${p.data.id}` });
});
const Item = z.object({ name: z.string().min(1), price: z.number().nonnegative(), tags: z.array(z.string()).max(10) });
app.post('/items', (req, res) => {
  const b = Item.safeParse(req.body);
  if (!b.success) return res.status(422).json({ errors: b.error.issues });
  res.json({ ok: true, name: b.data.name, price: b.data.price });
});
app.listen(port, '127.0.0.1', () => console.log('ready'));
