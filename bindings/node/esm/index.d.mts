export * from '../dist/index.js';
import { Spikard } from '../dist/index.js';
export default Spikard;
