/**
 * The gRPC transport: feast.serving.ServingService (GetOnlineFeatures, GetFeastServingInfo) and
 * grpc.health.v1.Health, on the same serving core as HTTP, served by node:http2 directly.
 *
 * Why not @grpc/grpc-js's Server (the design package): its per-call machinery (interceptor chain,
 * metadata objects, channelz trackers, a second copy of each response into its frame) cost 91 µs
 * of server CPU per unary call where node:http2 answering the same bytes costs 63 µs
 * (`bench/grpc-floor.ts`); on 1x10 and 1x50 that overhead was most of the server's CPU per request.
 * The protocol a unary server needs is small (wire.ts); the tests and benches talk to it through
 * grpc-js clients and through HTTP/2 calls written by hand.
 * Requests are decoded by decode-request.ts; responses are encoded by encode-response.ts straight
 * after the 5-byte message prefix, so the message is never copied.
 */
import http2 from 'node:http2';
import type { Logger } from 'pino';
import { PlatterError } from '../../errors.js';
import { outcomeOfStatus, type RequestMetrics, type RequestOutcome } from '../../ops/request-metrics.js';
import { protoType } from '../../proto/root.js';
import { releaseResponseBytes, releaseResult, responseBytes, type OnlineFeatureService } from '../../serving/online-features.js';
import { decodeGrpcRequest } from './decode-request.js';
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

const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': ACCEPT_ENCODING,
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': String(GrpcStatus.OK) };

function noop(): void {}

function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function statusOf(err: unknown, logger: Logger): [number, string] {
  if (err instanceof PlatterError) return [err.grpcStatus, `${err.code}: ${err.message}`];
  if (err instanceof GrpcStatusError) return [err.status, err.message];
  logger.error({ err }, 'unexpected error while serving a gRPC request');
  return [GrpcStatus.INTERNAL, 'INTERNAL: internal error; see the server log'];
}

/** A status with no message: trailers-only when nothing was sent yet, else trailers. */
function sendStatus(stream: http2.ServerHttp2Stream, code: number, details: string): void {
  if (stream.destroyed || stream.closed) return;
  const status = { 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(details) };
  if (stream.headersSent) {
    if (stream.writableEnded) return;
    stream.once('wantTrailers', () => stream.sendTrailers(status));
    stream.end();
  } else {
    stream.respond({ ...RESPONSE_HEADERS, ...status }, { endStream: true });
  }
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
  const watches = new Set<http2.ServerHttp2Stream>();
  const sessions = new Set<http2.ServerHttp2Session>();

  /** Health/Watch: the current status, then every change (checked each second), until the client cancels. */
  const watch = (service: string, stream: http2.ServerHttp2Stream) => {
    let last = '';
    const tick = () =>
      void healthStatus(deps, service).then((status) => {
        if (status === last || stream.destroyed || stream.writableEnded) return;
        if (!stream.headersSent) stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
        last = status;
        stream.write(framed(healthResponse.encode({ status: HEALTH_STATUS[status] }).finish()));
      });
    tick();
    const timer = setInterval(tick, 1000);
    watches.add(stream);
    stream.once('close', () => {
      clearInterval(timer);
      watches.delete(stream);
    });
  };

  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    // Errors (a reset by the client, a broken connection) end in 'close'; nothing to send then.
    stream.on('error', noop);
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const path = headers[':path'] ?? '';
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
    if (handler === undefined && !isWatch) {
      stream.resume();
      fail(GrpcStatus.UNIMPLEMENTED, `unknown method ${path}; this server serves ${SERVING} (GetOnlineFeatures, GetFeastServingInfo) and ${HEALTH}`);
      return;
    }
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
      stream.resume();
      fail(GrpcStatus.UNIMPLEMENTED, `grpc-encoding '${encoding}' is not supported; send identity, gzip or deflate`);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      const ms = parseTimeout(String(timeout));
      if (ms === null) {
        stream.resume();
        failWith(new PlatterError('INVALID_ARGUMENT', `grpc-timeout '${String(timeout)}' is not 1-8 digits and a unit (H, M, S, m, u, n)`));
        return;
      }
      // Beyond setTimeout's range (~24.8 days) a deadline never fires.
      if (ms <= 0x7fffffff) timer = setTimeout(() => fail(GrpcStatus.DEADLINE_EXCEEDED, `DEADLINE_EXCEEDED: the call's deadline of ${ms} ms passed before the answer`, 'server_error'), ms);
    }
    stream.once('close', () => {
      // A client that resets the stream cancels the call; a result still on its way is dropped.
      if (timer !== undefined) clearTimeout(timer);
      if (call.done) return;
      call.done = true;
      finish('cancelled');
    });
    const reader = new UnaryMessageReader(maxRequestBytes);
    // After an early answer (oversized message, deadline) the rest of the request is read and
    // dropped, so the connection's flow control keeps moving.
    stream.on('data', (chunk: Buffer) => {
      if (call.done) return;
      try {
        reader.push(chunk);
      } catch (err) {
        failWith(err);
      }
    });
    stream.once('end', () => {
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
          if (stream.destroyed || stream.closed) return;
          stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
          stream.once('wantTrailers', sendOkTrailers);
          // node:http2 queues the Buffer itself, not a copy; its write callback comes once the
          // socket write holding the last byte has completed. Only then may the memory be reused.
          // On an error (a reset stream) part of it may still be queued: it is left to the GC.
          stream.write(out, (err) => {
            if (!err) releaseResponseBytes(out);
          });
          stream.end();
          finish('ok');
        });
      }).catch(failWith);
    });
  };

  const server = http2.createServer({
    // Node answers ENHANCE_YOUR_CALM when a session's buffered data passes this (10 MB by
    // default); 16 calls of 1 MB responses on one connection would trip it.
    maxSessionMemory: 1024,
  });
  server.setTimeout(0);
  server.on('stream', onStream);
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', noop);
    session.once('close', () => sessions.delete(session));
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
        for (const session of sessions) session.close();
        setTimeout(() => {
          for (const session of sessions) session.destroy();
          resolve();
        }, CLOSE_GRACE_MS).unref();
      }),
  };
}
