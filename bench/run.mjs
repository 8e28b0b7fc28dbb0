// `npm run bench` entry (after `npm run build`, which the server child needs): loads the
// TypeScript bench through tsx in this same process, so its CPU is the load generator's CPU.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
