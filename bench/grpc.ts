/**
 * gRPC load: `feast.serving.ServingService/GetOnlineFeatures` over @grpc/grpc-js (autocannon
 * speaks HTTP/1.1 only). Requests are serialized once per pool entry with the proto-loader
 * definition of our protos/; the load loop sends those bytes and, unless BENCH_GRPC_DECODE=1,
 * keeps the response as raw bytes, so the client spends its CPU on gRPC rather than on protobuf
 * decoding (the correctness check decodes fully). Closed loop: `BENCH_CONNECTIONS` calls in
 * flight, spread over `BENCH_GRPC_CHANNELS` HTTP/2 connections.
 *
 * Two clients: `grpc` is a grpc-js Client (a real Node client, but on a 2-core machine it spends
 * more CPU per call than the server does, so it caps the row); `grpc-h2` sends the same framed
 * bytes on a bare node:http2 session, which shows more of what the server can do.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import http2 from 'node:http2';
import { protosDir } from '../src/proto/root.js';
import { CheckFailure, checkResponse, type NormalizedResponse } from './lib/check.js';
import { closedLoop } from './lib/closed-loop.js';
import type { BenchContext, PreparedLoad, Target } from './lib/types.js';
import { ENTITY, checkIds, featureRefs, type Workload } from './workloads.js';

const METHOD = '/feast.serving.ServingService/GetOnlineFeatures';

/**
 * The clients' HTTP/2 receive window, per stream and per connection. HTTP/2's default (and
 * grpc-js's) is 64 KiB for the whole connection, so 16 calls in flight whose responses are 70 KB to
 * 350 KB each would make the server stop every few frames for a WINDOW_UPDATE; gRPC's C core (Python)
 * and Go clients grow their windows to the bandwidth-delay product instead. 16 MiB stands for that.
 */
const RECEIVE_WINDOW = 16 * 1024 * 1024;

interface Codec {
  serialize(req: object): Buffer;
  deserialize(bytes: Buffer): any;
}

let codec: Codec | null = null;

export function servingCodec(): Codec {
  if (codec === null) {
    const pkg = protoLoader.loadSync('feast/serving/ServingService.proto', {
      includeDirs: [protosDir()],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const method = (pkg['feast.serving.ServingService'] as protoLoader.ServiceDefinition)['GetOnlineFeatures']!;
    codec = { serialize: (r) => method.requestSerialize(r), deserialize: (b) => method.responseDeserialize(b) };
  }
  return codec;
}

/** A GetOnlineFeaturesRequest in proto-loader's object form (keepCase). */
export function grpcRequest(w: Workload, ids: readonly number[]): object {
  const refs = featureRefs(w);
  return {
    ...(refs ? { features: { val: refs } } : { feature_service: w.featureService }),
    entities: { [ENTITY.joinKey]: { val: ids.map((id) => ({ int64_val: id })) } },
    full_feature_names: false,
  };
}

type ProtoValue = Record<string, unknown> & { val?: string };

function plain(v: ProtoValue | undefined): number | string | null {
  const kind = v?.val;
  if (kind === undefined || kind === 'null_val') return null;
  const x = v![kind];
  switch (kind) {
    case 'int64_val':
    case 'int32_val':
    case 'unix_timestamp_val':
      return Number(x);
    case 'double_val':
    case 'float_val':
    case 'string_val':
      return x as number | string;
    default:
      throw new CheckFailure(`grpc: unexpected Value kind ${kind}`);
  }
}

export function normalizeProto(msg: any): NormalizedResponse {
  return {
    featureNames: msg.metadata?.feature_names?.val ?? [],
    columns: (msg.results ?? []).map((r: any) => ({
      values: (r.values ?? []).map(plain),
      statuses: r.statuses ?? [],
      eventSeconds: (r.event_timestamps ?? []).map((t: any) => Number(t.seconds ?? 0) + Number(t.nanos ?? 0) / 1e9),
    })),
  };
}

function unary(client: grpc.Client, body: Buffer, deserialize: (b: Buffer) => any): Promise<any> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(METHOD, (b: Buffer) => b, deserialize, body, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A gRPC message with its 5-byte length prefix (uncompressed), as it goes into HTTP/2 DATA frames. */
export function frame(msg: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

/**
 * One unary call on a bare node:http2 session: the framed request in, the framed response and
 * `grpc-status` trailer out. No interceptors, resolver, deadline or metadata handling, so it costs
 * the client a fraction of grpc-js's CPU; the server cannot tell the difference.
 */
function h2Unary(session: http2.ClientHttp2Session, framed: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let status: unknown = null;
    let message: unknown = '';
    req.on('response', (h) => {
      // A trailers-only response carries grpc-status in the headers.
      if (h['grpc-status'] !== undefined) {
        status = h['grpc-status'];
        message = h['grpc-message'];
      }
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (h) => {
      status = h['grpc-status'];
      message = h['grpc-message'];
    });
    req.on('error', reject);
    req.on('end', () => {
      if (status !== '0') {
        reject(new Error(`grpc-status ${String(status)}: ${decodeURIComponent(String(message ?? ''))}`));
        return;
      }
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      resolve(all.subarray(5));
    });
    req.end(framed);
  });
}

function connectH2(address: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://${address}`, { settings: { initialWindowSize: RECEIVE_WINDOW } });
    s.once('connect', () => {
      s.setLocalWindowSize(RECEIVE_WINDOW);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Calls of one client kind: `send` returns the response message bytes. */
export interface Channels {
  send(seq: number, msg: Buffer, framed: Buffer): Promise<Buffer>;
  close(): void;
}

export async function openChannels(kind: 'grpc-js' | 'h2', address: string, count: number): Promise<Channels> {
  const rawBytes = (b: Buffer) => b;
  if (kind === 'grpc-js') {
    const clients = Array.from(
      { length: count },
      (_, i) =>
        new grpc.Client(address, grpc.credentials.createInsecure(), {
          // A connection per client instead of grpc-js's shared subchannel pool.
          'grpc.use_local_subchannel_pool': 1,
          'grpc.channel_id': i,
          'grpc.max_receive_message_length': -1,
          'grpc-node.flow_control_window': RECEIVE_WINDOW,
        }),
    );
    return {
      send: (seq, msg) => unary(clients[seq % count]!, msg, rawBytes),
      close: () => clients.forEach((c) => c.close()),
    };
  }
  const sessions = await Promise.all(Array.from({ length: count }, () => connectH2(address)));
  return {
    send: (seq, _msg, framed) => h2Unary(sessions[seq % count]!, framed),
    close: () => sessions.forEach((s) => s.close()),
  };
}

function makeGrpcTarget(name: string, kind: 'grpc-js' | 'h2', byDefault: boolean): Target {
  return {
    name,
    byDefault,
    async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
      const { serialize, deserialize } = servingCodec();
      const bodies = pool.map((ids) => serialize(grpcRequest(w, ids)));
      const framed = bodies.map(frame);
      const channels = await openChannels(kind, ctx.server.grpcAddress, ctx.settings.grpcChannels);
      const decodeInLoop = ctx.settings.grpcDecode;
      const n = bodies.length;
      return {
        serverPid: ctx.server.pid,
        async check() {
          for (const ids of [checkIds(w, ctx.entities), ...pool.slice(0, 3)]) {
            const msg = serialize(grpcRequest(w, ids));
            let res: Buffer;
            try {
              res = await channels.send(0, msg, frame(msg));
            } catch (err) {
              throw new CheckFailure(`${name}: workload ${w.name}: ${(err as Error).message}`);
            }
            checkResponse(name, w, ids, normalizeProto(deserialize(res)), ctx);
          }
        },
        run: (ms) =>
          closedLoop(
            async (seq) => {
              const res = await channels.send(seq, bodies[seq % n]!, framed[seq % n]!);
              if (decodeInLoop) deserialize(res);
              return res.length;
            },
            ctx.settings.connections,
            ms,
          ),
        close: async () => channels.close(),
      };
    },
  };
}

/** grpc-js client (what the issue asks for; a Node client's real cost). */
export const grpcTarget: Target = makeGrpcTarget('grpc', 'grpc-js', true);
/** Bare HTTP/2 client: the same calls with far less client CPU, so more of the row is the server. */
export const grpcH2Target: Target = makeGrpcTarget('grpc-h2', 'h2', false);
