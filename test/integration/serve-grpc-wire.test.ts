/**
 * gRPC's wire protocol as `platter serve` speaks it (grpc/grpc doc/PROTOCOL-HTTP2.md), checked
 * with calls written by hand on a real HTTP/2 connection: message framing split across DATA
 * frames, compressed requests (gzip, deflate), trailers-only errors, the request size limit,
 * deadlines (`grpc-timeout`), a call the client cancels, unknown methods and content types, and
 * Health/Watch; and that each call is counted in the request metrics. A private redis-server lets the test pause Redis (CLIENT PAUSE) to hold a call open.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { Redis } from 'ioredis';
import { encodeValue } from '../../src/encoding/value-encode.js';
import { ValueType } from '../../src/encoding/value-type.js';
import { renderPrometheus } from '../../src/ops/metrics.js';
import { protoType } from '../../src/proto/root.js';
import { seedFeastRedis } from '../helpers/feast-redis.js';
import { connectRaw, messages, prefixed, rawCall, type RawAnswer } from '../helpers/grpc-raw.js';
import { makeRepo, redisYaml, type TempRepo } from '../helpers/repo.js';
import { startRedisServer, type RedisServerProcess } from '../helpers/redis-server.js';
import { startServe, type TestServer } from '../helpers/start-serve.js';

const GET = '/feast.serving.ServingService/GetOnlineFeatures';
const MAX_REQUEST_BYTES = 4096;
const TS = 1_704_067_200;

const Request = protoType('feast.serving.GetOnlineFeaturesRequest');
const Response = protoType('feast.serving.GetOnlineFeaturesResponse');

function request(ids: number[]): Buffer {
  return Buffer.from(Request.encode({ features: { val: ['stats:trips'] }, entities: { driver_id: { val: ids.map((id) => ({ int64_val: id })) } } }).finish());
}

/** The trips values of a GetOnlineFeatures answer, as strings ('' for an unset Value). */
function trips(answer: RawAnswer): string[] {
  assert.equal(answer.grpcStatus, 0, answer.grpcMessage);
  const msgs = messages(answer.body);
  assert.equal(msgs.length, 1, 'one response message');
  const res = Response.toObject(Response.decode(msgs[0]!), { longs: String, enums: String }) as any;
  return res.results[1].values.map((v: { int64_val?: string }) => v.int64_val ?? '');
}

describe('gRPC wire protocol (hand-written calls over HTTP/2)', () => {
  let redis: RedisServerProcess;
  let admin: Redis;
  let repo: TempRepo;
  let server: TestServer;
  let session: http2.ClientHttp2Session;

  before(async () => {
    redis = await startRedisServer();
    admin = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
    await admin.connect();
    const project = 'grpc_wire';
    await seedFeastRedis(
      admin,
      project,
      'stats',
      [1, 2, 3].map((id) => ({ entity: { driver_id: { type: 4 as const, value: id } }, ts: { seconds: TS }, values: { trips: encodeValue(ValueType.INT64, id * 10) } })),
    );
    repo = makeRepo(
      {
        project,
        entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
        featureViews: [{ name: 'stats', entities: ['driver'], features: [{ name: 'trips', valueType: 'INT64' }] }],
      },
      redisYaml(project, redis.host, redis.port, 3, `platter:\n  max_request_bytes: ${MAX_REQUEST_BYTES}\n  online_store_timeout_ms: 10000\n`),
    );
    server = await startServe(repo.dir);
    session = await connectRaw(server.grpcAddress);
  });

  after(async () => {
    session?.close();
    await server?.close();
    admin?.disconnect();
    await redis?.stop();
    repo?.remove();
  });

  it('a plain call: 200, application/grpc+proto, one message, grpc-status 0 in the trailers', async () => {
    const answer = await rawCall(session, GET, [prefixed(request([1, 2, 9]))]);
    assert.equal(answer.httpStatus, 200);
    assert.equal(answer.headers['content-type'], 'application/grpc+proto');
    assert.equal(answer.headers['grpc-status'], undefined, 'the status is in the trailers, not the headers');
    assert.deepEqual(trips(answer), ['10', '20', '']);
  });

  it('a request message split over many DATA writes (prefix too) is read whole', async () => {
    const whole = prefixed(request([3, 1]));
    const chunks = [];
    for (let at = 0; at < whole.length; at += 3) chunks.push(whole.subarray(at, at + 3));
    assert.ok(chunks.length > 3);
    assert.deepEqual(trips(await rawCall(session, GET, chunks)), ['30', '10']);
  });

  it('gzip and deflate compressed requests are answered like plain ones', async () => {
    const msg = request([2, 3]);
    for (const [encoding, packed] of [
      ['gzip', zlib.gzipSync(msg)],
      ['deflate', zlib.deflateSync(msg)],
    ] as const) {
      const answer = await rawCall(session, GET, [prefixed(packed, true)], { 'grpc-encoding': encoding });
      assert.deepEqual(trips(answer), ['20', '30'], encoding);
    }
    // The flag alone decides: an uncompressed message under grpc-encoding gzip is read as is.
    assert.deepEqual(trips(await rawCall(session, GET, [prefixed(msg)], { 'grpc-encoding': 'gzip' })), ['20', '30']);
  });

  it('refuses what it cannot read, by name, with a trailers-only status', async () => {
    const msg = request([1]);
    const cases: [string, Buffer[], http2.OutgoingHttpHeaders, number, RegExp][] = [
      ['unknown grpc-encoding', [prefixed(zlib.brotliCompressSync(msg), true)], { 'grpc-encoding': 'br' }, 12, /grpc-encoding 'br'/],
      ['compressed flag without an encoding', [prefixed(msg, true)], {}, 3, /flagged compressed but grpc-encoding is 'identity'/],
      ['flag byte 2', [Buffer.concat([Buffer.from([2]), prefixed(msg).subarray(1)])], {}, 3, /flag 2/],
      ['bytes that do not gunzip', [prefixed(msg, true)], { 'grpc-encoding': 'gzip' }, 3, /does not decompress with grpc-encoding 'gzip'/],
      ['no message at all', [], {}, 3, /without a complete request message/],
      ['a truncated message', [prefixed(msg).subarray(0, 7)], {}, 3, /without a complete request message/],
      ['two messages', [prefixed(msg), prefixed(msg)], {}, 3, /exactly one request message/],
      ['over max_request_bytes', [prefixed(Buffer.alloc(MAX_REQUEST_BYTES + 1))], {}, 8, new RegExp(`PAYLOAD_TOO_LARGE: request message of ${MAX_REQUEST_BYTES + 1} bytes is over the limit of ${MAX_REQUEST_BYTES}`)],
      ['a gzip bomb (small on the wire, over the limit inflated)', [prefixed(zlib.gzipSync(Buffer.alloc(1 << 20)), true)], { 'grpc-encoding': 'gzip' }, 8, /decompressed is over the limit/],
      ['a malformed grpc-timeout', [prefixed(msg)], { 'grpc-timeout': '10 seconds' }, 3, /grpc-timeout '10 seconds'/],
      ['an unknown method', [prefixed(msg)], { ':path': '/feast.serving.ServingService/PushFeatures' }, 12, /unknown method \/feast\.serving\.ServingService\/PushFeatures/],
    ];
    for (const [what, chunks, headers, code, message] of cases) {
      const answer = await rawCall(session, GET, chunks, headers);
      assert.equal(answer.httpStatus, 200, what);
      assert.equal(answer.headers['grpc-status'], String(code), `${what}: trailers-only (status in the headers): ${answer.grpcMessage}`);
      assert.match(answer.grpcMessage, message, what);
      assert.equal(answer.body.length, 0, what);
    }
    const notGrpc = await rawCall(session, GET, [prefixed(msg)], { 'content-type': 'application/json' });
    assert.equal(notGrpc.httpStatus, 415);
    const notPost = await rawCall(session, GET, [], { ':method': 'GET' });
    assert.equal(notPost.httpStatus, 405, 'gRPC calls are POST');
    assert.deepEqual(trips(await rawCall(session, GET, [prefixed(msg)])), ['10'], 'the connection still serves');
  });

  it('an oversized message is refused from its prefix, before its bytes are sent', async () => {
    const req = session.request({ ':method': 'POST', ':path': GET, 'content-type': 'application/grpc', te: 'trailers' });
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 << 30, 1); // announces 1 GiB, then sends nothing more
    req.write(head);
    const status = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    assert.equal(status['grpc-status'], '8');
    assert.match(decodeURIComponent(String(status['grpc-message'])), /of 1073741824 bytes is over the limit of 4096 bytes/);
    req.close();
  });

  it('grpc-timeout: an answer later than the deadline is DEADLINE_EXCEEDED; the server serves the next call', async () => {
    await admin.call('CLIENT', 'PAUSE', '700');
    const started = Date.now();
    const late = await rawCall(session, GET, [prefixed(request([1]))], { 'grpc-timeout': '150m' });
    const waited = Date.now() - started;
    assert.equal(late.grpcStatus, 4, late.grpcMessage);
    assert.match(late.grpcMessage, /deadline of 150 ms/);
    assert.ok(waited < 600, `answered at the deadline, not when Redis came back (${waited} ms)`);
    // The same call with room to spare, while Redis is still paused: answered once it resumes.
    assert.deepEqual(trips(await rawCall(session, GET, [prefixed(request([2]))], { 'grpc-timeout': '5S' })), ['20']);
  });

  it('a call cancelled by the client while it waits on Redis is dropped; the server keeps serving', async () => {
    await admin.call('CLIENT', 'PAUSE', '400');
    const req = session.request({ ':method': 'POST', ':path': GET, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.end(prefixed(request([3])));
    await new Promise((r) => setTimeout(r, 100));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(trips(await rawCall(session, GET, [prefixed(request([3, 2]))])), ['30', '20']);
  });

  it('Health/Watch streams SERVING first, until the client cancels', async () => {
    const HealthRequest = protoType('grpc.health.v1.HealthCheckRequest');
    const HealthResponse = protoType('grpc.health.v1.HealthCheckResponse');
    const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.end(prefixed(HealthRequest.encode({ service: '' }).finish()));
    const first = await new Promise<Buffer>((resolve) => req.once('data', resolve));
    assert.equal((HealthResponse.toObject(HealthResponse.decode(messages(first)[0]!), { enums: String }) as any).status, 'SERVING');
    req.close(http2.constants.NGHTTP2_CANCEL);
    const unknown = await rawCall(session, '/grpc.health.v1.Health/Check', [prefixed(HealthRequest.encode({ service: 'nope' }).finish())]);
    assert.equal(unknown.grpcStatus, 5);
    assert.match(unknown.grpcMessage, /unknown service 'nope'/);
    // Bytes that are no HealthCheckRequest: field 2 with wire type 7, which does not exist.
    for (const path of ['/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/Watch']) {
      const bad = await rawCall(session, path, [prefixed(Buffer.from([0x17, 0x00]))]);
      assert.equal(bad.grpcStatus, 3, `${path}: ${bad.grpcMessage}`);
      assert.match(bad.grpcMessage, /HealthCheckRequest does not decode/);
    }
  });
  it('each GetOnlineFeatures call above is counted once in platter_request_duration_seconds, by outcome', async () => {
    const text = renderPrometheus(await server.adminBackend.metrics());
    const count = (outcome: string) => {
      const m = new RegExp(`^platter_request_duration_seconds_count\\{transport="grpc",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    };
    // ok: 1 + 1 + 3 + 1 + 1 + 1; client errors: the 10 refused on GetOnlineFeatures's path and the
    // oversized prefix (not the unknown method, nor the 415); the deadline; the cancelled call.
    assert.deepEqual(
      { ok: count('ok'), client_error: count('client_error'), server_error: count('server_error'), cancelled: count('cancelled') },
      { ok: 8, client_error: 11, server_error: 1, cancelled: 1 },
      text,
    );
    assert.match(text, /^platter_request_duration_seconds_bucket\{transport="grpc",outcome="ok",le="\+Inf"\} 8$/m);
  });
  it('close() lets a call in flight finish, ends a Watch with UNAVAILABLE, then refuses new connections', async () => {
    const other = await startServe(repo.dir);
    const s = await connectRaw(other.grpcAddress);
    try {
      const watch = s.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Watch', 'content-type': 'application/grpc', te: 'trailers' });
      watch.end(prefixed(protoType('grpc.health.v1.HealthCheckRequest').encode({}).finish()));
      await new Promise((resolve) => watch.once('data', resolve)); // SERVING
      const watchEnd = new Promise<http2.IncomingHttpHeaders>((resolve) => watch.once('trailers', resolve));
      await admin.call('CLIENT', 'PAUSE', '300');
      const inFlight = rawCall(s, GET, [prefixed(request([1, 3]))]);
      await new Promise((r) => setTimeout(r, 100));
      const closed = other.close();
      assert.deepEqual(trips(await inFlight), ['10', '30']);
      const trailers = await watchEnd;
      assert.equal(trailers['grpc-status'], '14');
      assert.match(decodeURIComponent(String(trailers['grpc-message'])), /shutting down/);
      await closed;
      await assert.rejects(connectRaw(other.grpcAddress), /ECONNREFUSED/);
    } finally {
      s.destroy();
    }
  });
});
