/**
 * What a unary gRPC call costs a Node server before it does any work: the same fixed response
 * (GetOnlineFeatures' path, `BENCH_BYTES` bytes) served by @grpc/grpc-js, by a bare node:http2
 * handler speaking gRPC's framing (length-prefixed message, `grpc-status` trailer), and by the
 * HTTP/2 connection Platter serves gRPC on (src/transport/grpc/h2/), each in its own child
 * process, driven by the same bare HTTP/2 client (16 calls in flight over 2 sessions).
 * Server CPU per call comes from the child's own process.cpuUsage().
 *
 *   node --import tsx bench/grpc-floor.ts
 *
 * Env: BENCH_SECONDS (5), BENCH_BYTES (1500), BENCH_CONNECTIONS (16).
 */
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { H2Connection } from '../src/transport/grpc/h2/connection.js';
import { encodeHeaderBlock } from '../src/transport/grpc/h2/hpack.js';
import { freePort } from './lib/ports.js';

type Kind = 'grpc-js' | 'http2' | 'platter';

const METHOD = '/feast.serving.ServingService/GetOnlineFeatures';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BYTES = Number(process.env.BENCH_BYTES ?? 1500);
const IN_FLIGHT = Number(process.env.BENCH_CONNECTIONS ?? 16);

/** gRPC message framing: compressed flag, 4-byte big-endian length, message. */
function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

async function serveChild(kind: Kind, port: number): Promise<void> {
  const body = Buffer.alloc(BYTES, 7);
  const start = process.cpuUsage();
  let calls = 0;
  if (kind === 'http2') {
    const framed = frame(body);
    const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
    server.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        calls++;
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  } else if (kind === 'platter') {
    const framed = frame(body);
    const headers = encodeHeaderBlock([[':status', '200'], ['content-type', 'application/grpc']]);
    const trailers = encodeHeaderBlock([['grpc-status', '0']]);
    const server = net.createServer(
      (socket) =>
        new H2Connection(socket, {
          maxConcurrentStreams: 1000,
          maxHeaderListSize: 65536,
          onStream: (stream) => {
            stream.onEnd = () => {
              calls++;
              stream.respond(headers);
              stream.write(framed);
              stream.end(trailers);
            };
          },
        }),
    );
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  } else {
    const server = new grpc.Server();
    const raw = (b: Buffer) => b;
    server.addService(
      {
        GetOnlineFeatures: {
          path: METHOD,
          requestStream: false,
          responseStream: false,
          requestSerialize: raw,
          requestDeserialize: raw,
          responseSerialize: raw,
          responseDeserialize: raw,
        },
      },
      {
        GetOnlineFeatures: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
          calls++;
          cb(null, body);
        },
      },
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
  }
  process.send!('ready');
  process.on('message', () => {
    const u = process.cpuUsage(start);
    process.send!({ calls, cpuMicros: u.user + u.system });
    process.exit(0);
  });
}

async function drive(port: number): Promise<number> {
  const request = frame(Buffer.alloc(100, 1));
  const sessions = [0, 1].map(() => http2.connect(`http://127.0.0.1:${port}`));
  const until = Date.now() + SECONDS * 1000;
  let done = 0;
  const loop = (s: http2.ClientHttp2Session) =>
    new Promise<void>((resolve, reject) => {
      const one = () => {
        const st = s.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
        st.on('data', () => undefined);
        st.on('error', reject);
        st.on('end', () => {
          done++;
          if (Date.now() < until) one();
          else resolve();
        });
        st.end(request);
      };
      one();
    });
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => loop(sessions[i % sessions.length]!)));
  for (const s of sessions) s.close();
  return done;
}

async function measure(kind: Kind): Promise<void> {
  const port = await freePort();
  const child = fork(fileURLToPath(import.meta.url), ['--child', kind, String(port)], { execArgv: ['--import', 'tsx'] });
  await new Promise<void>((resolve) => child.once('message', () => resolve()));
  const calls = await drive(port);
  const stats = await new Promise<{ calls: number; cpuMicros: number }>((resolve) => {
    child.once('message', (m) => resolve(m as { calls: number; cpuMicros: number }));
    child.send('stop');
  });
  console.log(
    `${kind.padEnd(8)} ${String(Math.round(calls / SECONDS)).padStart(7)} calls/s  server ${(stats.cpuMicros / stats.calls).toFixed(1).padStart(6)} µs/call  (${stats.calls} calls, ${BYTES}-byte response)`,
  );
}

if (process.argv[2] === '--child') {
  await serveChild(process.argv[3] as Kind, Number(process.argv[4]));
} else {
  await measure('grpc-js');
  await measure('http2');
  await measure('platter');
}
