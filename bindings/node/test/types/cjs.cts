// The CommonJS entry point has the same types.
import spikard = require('spikard');
import { z } from 'zod';

const app = new spikard.Spikard();
app.get('/n/:n', { params: z.object({ n: z.coerce.number() }) }, (req) => {
  const n: number = req.params.n;
  return { n };
});
export const err = new spikard.HttpError(400, 'bad');
