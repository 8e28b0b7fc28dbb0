/**
 * The gRPC transport: feast.serving.ServingService (GetOnlineFeatures, GetFeastServingInfo) and
 * grpc.health.v1.Health, on the same serving core as HTTP, served over our own HTTP/2 connection
 * (h2/connection.ts) on a plain TCP server.
 *
 * Why not @grpc/grpc-js's Server (the design package) or node:http2: a unary call with a fixed
 * answer costs 87 µs of server CPU through grpc-js (interceptors, metadata objects, channelz, a
 * second copy of each response), 52 µs through node:http2 (a Duplex per stream, header objects,
 * nghttp2's rounds) and 19 µs here (`node --import tsx bench/grpc-floor.ts`); at 1-50 features
 * that floor was most of the server's CPU per request. A unary server needs little of HTTP/2
 * (no push, no priorities, flow control on its answers) and of gRPC (wire.ts); the tests talk to
 * it through grpc-js clients, node:http2 clients and frames written by hand.
 * Requests are decoded by decode-request.ts; responses are encoded by encode-response.ts straight
 * after the 5-byte message prefix, so the message is never copied.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { PlatterError } from '../../errors.js';
import { outcomeOfStatus, type RequestMetrics, type RequestOutcome } from '../../ops/request-metrics.js';
import { protoType } from '../../proto/root.js';
import { releaseResponseBytes, releaseResult, responseBytes, type OnlineFeatureService } from '../../serving/online-features.js';
import { decodeGrpcRequest } from './decode-request.js';
import { H2Connection, type H2Stream } from './h2/connection.js';
import { encodeHeaderBlock } from './h2/hpack.js';
import { encodeOnlineFeaturesResponse } from './encode-response.js';
import { ACCEPT_ENCODING, GrpcStatus, GrpcStatusError, MESSAGE_PREFIX, UnaryMessageReader, encodeGrpcMessage, framed, parseTimeout, writePrefix } from './wire.js';

export interface GrpcDeps {
  readonly service: OnlineFeatureService;
  readonly health: () => Promise<void>;
  readonly logger: Logger;
  readonly version: string;
  readonly maxRequestBytes: number;
  readonly metrics: RequestMetrics;
}

export interface GrpcServer {
  readonly port: number;
  close(): Promise<void>;
}

const SERVING = 'feast.serving.ServingService';
const HEALTH = 'grpc.health.v1.Health';
const GET_ONLINE_FEATURES = `/${SERVING}/GetOnlineFeatures`;
/** How long close() lets calls in flight finish before it drops their connections. */
const CLOSE_GRACE_MS = 2000;

/** Whether the call has been answered (or abandoned): later results are dropped. */
interface CallState {
  done: boolean;
}

/** A unary method: the request message in, the framed response (prefix included) out, or null when the call ended first. */
type UnaryHandler = (request: Buffer, call: CallState) => Promise<Buffer | null>;

const RESPONSE_FIELDS: readonly (readonly [string, string])[] = [
  [':status', '200'],
  ['content-type', 'application/grpc+proto'],
  ['grpc-accept-encoding', ACCEPT_ENCODING],
  ['grpc-encoding', 'identity'],
];
/** Built once: every answer's headers and OK trailers are the same bytes. */
const RESPONSE_HEADERS = encodeHeaderBlock(RESPONSE_FIELDS);
const OK_TRAILERS = encodeHeaderBlock([['grpc-status', String(GrpcStatus.OK)]]);
const STATUS_415 = encodeHeaderBlock([[':status', '415']]);
/** gRPC calls are POST (PROTOCOL-HTTP2.md); anything else is 405, as gRPC's own servers answer. */
const STATUS_405 = encodeHeaderBlock([[':status', '405'], ['allow', 'POST']]);
/** Header lists above this (name + value + 32 per field, RFC 9113 6.5.2) are answered 431. */
const MAX_HEADER_LIST = 64 * 1024;
/** Streams one connection may have open; more are refused (REFUSED_STREAM, which clients retry). */
const MAX_CONCURRENT_STREAMS = 4096;

function statusOf(err: unknown, logger: Logger): [number, string] {
  if (err instanceof PlatterError) return [err.grpcStatus, `${err.code}: ${err.message}`];
  if (err instanceof GrpcStatusError) return [err.status, err.message];
  logger.error({ err }, 'unexpected error while serving a gRPC request');
  return [GrpcStatus.INTERNAL, 'INTERNAL: internal error; see the server log'];
}

/** A status with no message: trailers-only when nothing was sent yet, else trailers. */
function sendStatus(stream: H2Stream, code: number, details: string): void {
  if (stream.closed) return;
  const status: [string, string][] = [
    ['grpc-status', String(code)],
    ['grpc-message', encodeGrpcMessage(details)],
  ];
  if (stream.headersSent) stream.end(encodeHeaderBlock(status));
  else stream.respond(encodeHeaderBlock([...RESPONSE_FIELDS, ...status]), true);
}

/** The `service` of a grpc.health.v1.HealthCheckRequest. */
function healthService(request: Buffer): string {
  try {
    return String((protoType('grpc.health.v1.HealthCheckRequest').decode(request) as { service?: string }).service ?? '');
  } catch (err) {
    throw new PlatterError('INVALID_ARGUMENT', `the HealthCheckRequest does not decode: ${(err as Error).message}`);
  }
}

function unaryMethods(deps: GrpcDeps): Map<string, UnaryHandler> {
  const infoResponse = protoType('feast.serving.GetFeastServingInfoResponse');
  const healthResponse = protoType('grpc.health.v1.HealthCheckResponse');
  const infoBytes = framed(infoResponse.encode({ version: deps.version }).finish());
  return new Map<string, UnaryHandler>([
    [
      GET_ONLINE_FEATURES,
      async (request, call) => {
        const result = await deps.service.get(decodeGrpcRequest(request));
        try {
          if (call.done) return null;
          const out = encodeOnlineFeaturesResponse(result, MESSAGE_PREFIX, responseBytes);
          writePrefix(out, out.length - MESSAGE_PREFIX);
          return out;
        } finally {
          releaseResult(result);
        }
      },
    ],
    [`/${SERVING}/GetFeastServingInfo`, async () => infoBytes],
    [
      `/${HEALTH}/Check`,
      async (request) => {
        const service = healthService(request);
        const status = await healthStatus(deps, service);
        if (status === 'SERVICE_UNKNOWN') throw new GrpcStatusError(GrpcStatus.NOT_FOUND, `unknown service '${service}'; this server serves '${SERVING}'`);
        return framed(healthResponse.encode({ status: HEALTH_STATUS[status] }).finish());
      },
    ],
  ]);
}

const HEALTH_STATUS = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

async function healthStatus(deps: GrpcDeps, service: string): Promise<keyof typeof HEALTH_STATUS> {
  if (service !== '' && service !== SERVING) return 'SERVICE_UNKNOWN';
  try {
    await deps.health();
    return 'SERVING';
  } catch {
    return 'NOT_SERVING';
  }
}

export async function startGrpcServer(deps: GrpcDeps, host: string, port: number): Promise<GrpcServer> {
  const { logger, maxRequestBytes, metrics } = deps;
  const unary = unaryMethods(deps);
  const healthResponse = protoType('grpc.health.v1.HealthCheckResponse');
  const watches = new Set<H2Stream>();
  const connections = new Set<H2Connection>();

  /** Health/Watch: the current status, then every change (checked each second), until the client cancels. */
  const watch = (service: string, stream: H2Stream) => {
    let last = '';
    const tick = () =>
      void healthStatus(deps, service).then((status) => {
        if (status === last || stream.closed) return;
        stream.respond(RESPONSE_HEADERS);
        last = status;
        stream.write(framed(healthResponse.encode({ status: HEALTH_STATUS[status] }).finish()));
      });
    tick();
    const timer = setInterval(tick, 1000);
    watches.add(stream);
    stream.onClose = () => {
      clearInterval(timer);
      watches.delete(stream);
    };
  };

  const onStream = (stream: H2Stream) => {
    if (stream.header(':method') !== 'POST') {
      stream.respond(STATUS_405, true);
      return;
    }
    const contentType = stream.header('content-type');
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respond(STATUS_415, true);
      return;
    }
    const path = stream.header(':path') ?? '';
    const handler = unary.get(path);
    const isWatch = path === `/${HEALTH}/Watch`;
    const call: CallState = { done: false };
    const timed = path === GET_ONLINE_FEATURES;
    const started = timed ? performance.now() : 0;
    const finish = (outcome: RequestOutcome) => {
      if (timed) metrics.observe('grpc', outcome, performance.now() - started);
    };
    const fail = (code: number, details: string, outcome: RequestOutcome = 'client_error') => {
      if (call.done) return;
      call.done = true;
      sendStatus(stream, code, details);
      finish(outcome);
    };
    const failWith = (err: unknown) => {
      const [code, details] = statusOf(err, logger);
      fail(code, details, err instanceof PlatterError ? outcomeOfStatus(err.httpStatus) : code === GrpcStatus.INTERNAL ? 'server_error' : 'client_error');
    };
    // An early answer ends the stream; the connection drops the rest of its request as it comes.
    if (handler === undefined && !isWatch) {
      fail(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}; this server serves ${SERVING} (GetOnlineFeatures, GetFeastServingInfo) and ${HEALTH}`);
      return;
    }
    const encoding = stream.header('grpc-encoding') ?? 'identity';
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      fail(GrpcStatus.UNIMPLEMENTED, `grpc-encoding '${encoding}' is not supported; send identity, gzip or deflate`);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = stream.header('grpc-timeout');
    if (timeout !== undefined) {
      const ms = parseTimeout(timeout);
      if (ms === null) {
        failWith(new PlatterError('INVALID_ARGUMENT', `grpc-timeout '${timeout}' is not 1-8 digits and a unit (H, M, S, m, u, n)`));
        return;
      }
      // Beyond setTimeout's range (~24.8 days) a deadline never fires.
      if (ms <= 0x7fffffff) timer = setTimeout(() => fail(GrpcStatus.DEADLINE_EXCEEDED, `DEADLINE_EXCEEDED: the call's deadline of ${ms} ms passed before the answer`, 'server_error'), ms);
    }
    stream.onClose = () => {
      // A client that resets the stream cancels the call; a result still on its way is dropped.
      if (timer !== undefined) clearTimeout(timer);
      if (call.done) return;
      call.done = true;
      finish('cancelled');
    };
    const reader = new UnaryMessageReader(maxRequestBytes);
    stream.onData = (chunk) => {
      if (call.done) return;
      try {
        reader.push(chunk);
      } catch (err) {
        failWith(err);
      }
    };
    stream.onEnd = () => {
      if (call.done) return;
      reader.finish(encoding).then((request) => {
        if (call.done) return;
        if (isWatch) {
          const service = healthService(request);
          if (timer !== undefined) clearTimeout(timer);
          call.done = true;
          watch(service, stream);
          return;
        }
        return handler!(request, call).then((out) => {
          if (out === null || call.done) return;
          call.done = true;
          if (timer !== undefined) clearTimeout(timer);
          if (stream.closed) return;
          stream.respond(RESPONSE_HEADERS);
          // The connection queues the Buffer itself, not a copy, and calls back once the socket
          // has written its last byte; only then may the memory be reused. A stream reset
          // before that drops the queue without the callback: the bytes are left to the GC.
          stream.write(out, () => releaseResponseBytes(out));
          stream.end(OK_TRAILERS);
          finish('ok');
        });
      }).catch(failWith);
    };
  };

  const server = net.createServer((socket) => {
    const conn = new H2Connection(socket, {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: MAX_HEADER_LIST,
      onStream,
      onError: (err) => logger.error({ err }, 'unexpected error on a gRPC connection; it was closed'),
      onDrop: (reason) => logger.warn({ remote: socket.remoteAddress }, `gRPC connection dropped: ${reason}`),
    });
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
  });

  const bound = await new Promise<number>((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new PlatterError('CONFIG_INVALID', `cannot listen on ${host}:${port} for gRPC (${err.message}); pass --grpc-port`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
  server.on('error', (err) => logger.error({ err }, 'gRPC server error'));

  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const stream of watches) sendStatus(stream, GrpcStatus.UNAVAILABLE, 'UNAVAILABLE: the server is shutting down; reconnect');
        for (const conn of connections) conn.shutdown();
        setTimeout(() => {
          for (const conn of connections) conn.destroy();
          resolve();
        }, CLOSE_GRACE_MS).unref();
      }),
  };
}
