// The benchmark app on Fastify 5 (JSON Schema validation with its built-in ajv).
import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 8080);
const app = Fastify({ logger: false });
app.get('/json', async () => ({ message: 'Hello, World!' }));
app.get('/users/:id', { schema: { params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] } } }, async (req) => ({ id: req.params.id, name: `user${req.params.id}` }));
app.post('/items', {
  schema: {
    body: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, price: { type: 'number', minimum: 0 }, tags: { type: 'array', items: { type: 'string' }, maxItems: 10 } },
      required: ['name', 'price', 'tags'],
    },
  },
}, async (req) => ({ ok: true, name: req.body.name, price: req.body.price }));
await app.listen({ port, host: '127.0.0.1' });
console.log('ready');
