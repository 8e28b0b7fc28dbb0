/**
 * A deliberately slow HTTP server for validating the open-loop generator: node:http in a worker
 * thread (so its busy CPU does not block the generator's event loop) that spends `busyMs` of
 * CPU on every request before answering, so it serves at most 1000 / busyMs requests per second.
 * `stallAtMs`/`stallMs` block its event loop once, `stallAtMs` after it starts listening.
 */
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { busyMs, stallAtMs, stallMs } = workerData;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {}
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
    res.end('ok');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  parentPort.postMessage(server.address().port);
  if (stallMs > 0) setTimeout(() => { const until = performance.now() + stallMs; while (performance.now() < until) {} }, stallAtMs);
});
parentPort.on('message', () => server.close(() => process.exit(0)));
`;

export interface SlowServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startSlowServer(opts: { busyMs: number; stallAtMs?: number; stallMs?: number }): Promise<SlowServer> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { busyMs: opts.busyMs, stallAtMs: opts.stallAtMs ?? 0, stallMs: opts.stallMs ?? 0 },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    port,
    close: async () => {
      worker.postMessage('close');
      await Promise.race([new Promise((r) => worker.once('exit', r)), new Promise((r) => setTimeout(r, 1000))]);
      await worker.terminate();
    },
  };
}
