/**
 * gRPC load: `feast.serving.ServingService/GetOnlineFeatures` over @grpc/grpc-js (autocannon
 * speaks HTTP/1.1 only). Requests are serialized once per pool entry with the proto-loader
 * definition of our protos/; the load loop sends those bytes and, unless BENCH_GRPC_DECODE=1,
 * keeps the response as raw bytes, so the client spends its CPU on gRPC rather than on protobuf
 * decoding (the correctness check decodes fully). Closed loop: `BENCH_CONNECTIONS` calls in
 * flight, spread over `BENCH_GRPC_CHANNELS` HTTP/2 connections.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protosDir } from '../src/proto/root.js';
import { CheckFailure, checkResponse, type NormalizedResponse } from './lib/check.js';
import { closedLoop } from './lib/closed-loop.js';
import type { BenchContext, PreparedLoad, Target } from './lib/types.js';
import { ENTITY, checkIds, featureRefs, type Workload } from './workloads.js';

const METHOD = '/feast.serving.ServingService/GetOnlineFeatures';

interface Codec {
  serialize(req: object): Buffer;
  deserialize(bytes: Buffer): any;
}

let codec: Codec | null = null;

function servingCodec(): Codec {
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

export const grpcTarget: Target = {
  name: 'grpc',
  usesServer: true,
  async prepare(ctx: BenchContext, w: Workload, pool: readonly (readonly number[])[]): Promise<PreparedLoad> {
    const { serialize, deserialize } = servingCodec();
    const bodies = pool.map((ids) => serialize(grpcRequest(w, ids)));
    const clients = Array.from(
      { length: ctx.settings.grpcChannels },
      (_, i) =>
        new grpc.Client(ctx.server.grpcAddress, grpc.credentials.createInsecure(), {
          // A channel per client, not grpc-js's shared subchannel pool.
          'grpc.use_local_subchannel_pool': 1,
          'grpc.channel_id': i,
          'grpc.max_receive_message_length': -1,
        }),
    );
    const rawBytes = (b: Buffer) => b;
    const decodeInLoop = ctx.settings.grpcDecode;
    const n = bodies.length;
    return {
      async check() {
        for (const ids of [checkIds(w, ctx.entities), ...pool.slice(0, 3)]) {
          let msg;
          try {
            msg = await unary(clients[0]!, serialize(grpcRequest(w, ids)), deserialize);
          } catch (err) {
            throw new CheckFailure(`grpc: workload ${w.name}: ${(err as Error).message}`);
          }
          checkResponse('grpc', w, ids, normalizeProto(msg), ctx);
        }
      },
      run: (ms) =>
        closedLoop(
          async (seq) => {
            const client = clients[seq % clients.length]!;
            if (decodeInLoop) {
              let size = 0;
              await unary(client, bodies[seq % n]!, (b) => {
                size = b.length;
                return deserialize(b);
              });
              return size;
            }
            const res: Buffer = await unary(client, bodies[seq % n]!, rawBytes);
            return res.length;
          },
          ctx.settings.connections,
          ms,
        ),
      close: async () => {
        for (const c of clients) c.close();
      },
    };
  },
};
