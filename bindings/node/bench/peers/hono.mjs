// The benchmark app on Hono 4 + @hono/node-server (Zod 4 validation with @hono/zod-validator).
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { zValidator } from '@hono/zod-validator';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 8080);
const app = new Hono();
app.get('/json', (c) => c.json({ message: 'Hello, World!' }));
app.get('/users/:id', zValidator('param', z.object({ id: z.coerce.number().int().min(1) })), (c) => {
  const { id } = c.req.valid('param');
  return c.json({ id, name: `user${id}` });
});
const Item = z.object({ name: z.string().min(1), price: z.number().nonnegative(), tags: z.array(z.string()).max(10) });
app.post('/items', zValidator('json', Item), (c) => {
  const b = c.req.valid('json');
  return c.json({ ok: true, name: b.name, price: b.price });
});
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => console.log('ready'));
