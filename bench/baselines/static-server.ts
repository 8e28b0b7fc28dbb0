/**
 * The noise floor: a uWebSockets.js server (the HTTP stack `platter serve` uses) that reads each
 * request body and answers with one fixed body. The bench sets that body before each workload
 * (`PUT /__body`) to the response `platter serve` gave for the workload's first pool request, so
 * the bytes on the wire are the same size. No parsing, no Redis, no rendering: the latency and CPU
 * this server shows are the cost of the machine, the kernel's loopback, uWS and the load
 * generator. A server row can only be read against it.
 *
 *   node --import tsx bench/baselines/static-server.ts --port 8080
 */
import { parseArgs } from 'node:util';
import uWS from 'uWebSockets.js';

const { values } = parseArgs({ options: { port: { type: 'string' } }, strict: true });
const port = Number(values.port);
let body: Buffer = Buffer.from('{}');

const app = uWS.App();
app.get('/health', (res) => {
  res.end('ok');
});
app.put('/__body', (res) => {
  const chunks: Buffer[] = [];
  res.onAborted(() => undefined);
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory: copy it
    if (isLast) {
      body = Buffer.concat(chunks);
      res.cork(() => res.end(`${body.length}`));
    }
  });
});
app.any('/*', (res) => {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  // Answer once the whole request body is in, as a real server must.
  res.onData((_chunk, isLast) => {
    if (isLast && !aborted) {
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(body);
      });
    }
  });
});
app.listen('127.0.0.1', port, (token) => {
  if (!token) {
    process.stderr.write(`static-server: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
});
process.on('SIGTERM', () => process.exit(0));
