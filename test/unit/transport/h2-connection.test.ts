// The HTTP/2 server connection under the gRPC transport, over real sockets: with node:http2's
// client (nghttp2) for the protocol as clients speak it, and with frames written by hand for
// what a client should not do (RFC 9113: frame sizes, stream ids, flow control; rapid reset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { H2Connection, type H2Options, type H2Stream } from '../../../src/transport/grpc/h2/connection.js';
import { encodeHeaderBlock } from '../../../src/transport/grpc/h2/hpack.js';

const OK = encodeHeaderBlock([[':status', '200'], ['content-type', 'application/octet-stream']]);
const TRAILERS = encodeHeaderBlock([['x-done', 'yes']]);

/** A server whose every connection is an H2Connection; `onStream` decides the answers. */
async function serve(onStream: (s: H2Stream) => void, opts: Partial<H2Options> = {}) {
  const conns: H2Connection[] = [];
  const server = net.createServer((socket) => {
    conns.push(new H2Connection(socket, { maxConcurrentStreams: 100, maxHeaderListSize: 16 * 1024, onStream, ...opts }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    conns,
    close: () => {
      for (const c of conns) c.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes the request body back, `times` times over, then trailers. */
function echo(times = 1) {
  return (s: H2Stream) => {
    const parts: Buffer[] = [];
    s.onData = (c) => parts.push(Buffer.from(c));
    s.onEnd = () => {
      s.respond(OK);
      const body = Buffer.concat(parts);
      for (let i = 0; i < times; i++) s.write(body);
      s.end(TRAILERS);
    };
  };
}

function request(client: http2.ClientHttp2Session, body: Buffer, headers: http2.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; body: Buffer; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': '/echo', ...headers });
    const parts: Buffer[] = [];
    let status = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(parts), trailers }));
    req.on('error', reject);
    req.end(body);
  });
}

test('node:http2 client: bodies in and out across many DATA frames, trailers after them, many calls on one connection', async () => {
  const srv = await serve(echo(3));
  const client = http2.connect(`http://127.0.0.1:${srv.port}`);
  try {
    const bodies = [Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(100_000, 7), Buffer.from(Array.from({ length: 40_000 }, (_, i) => i % 251))];
    const answers = await Promise.all(bodies.map((b) => request(client, b)));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      assert.ok(a.body.equals(Buffer.concat([bodies[i]!, bodies[i]!, bodies[i]!])), `body ${i}`);
      assert.equal(a.trailers['x-done'], 'yes');
    });
  } finally {
    client.close();
    await srv.close();
  }
});

test('a header block over the peer\'s frame size goes out as HEADERS plus CONTINUATION frames', async () => {
  const big = 'v'.repeat(40_000);
  const srv = await serve((s) => {
    s.onEnd = () => {
      s.respond(encodeHeaderBlock([[':status', '200'], ['x-big', big]]));
      s.write(Buffer.from('body'));
      s.end(encodeHeaderBlock([['x-trailer', big]]));
    };
  });
  const client = http2.connect(`http://127.0.0.1:${srv.port}`, { maxHeaderListPairs: 8, settings: { maxHeaderListSize: 1 << 20 } });
  try {
    const answer = await new Promise<{ head: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = client.request({ ':method': 'POST', ':path': '/' });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      let body = '';
      req.on('response', (h) => (head = h));
      req.on('trailers', (t) => (trailers = t));
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => resolve({ head, trailers, body }));
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.head['x-big'], big);
    assert.equal(answer.body, 'body');
    assert.equal(answer.trailers['x-trailer'], big);
  } finally {
    client.close();
    await srv.close();
  }
});

test('a client with a 100-byte stream window and a 65,535-byte connection window gets every byte, as it grants more', async () => {
  const srv = await serve(echo(2));
  const client = http2.connect(`http://127.0.0.1:${srv.port}`, { settings: { initialWindowSize: 100 } });
  try {
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    const answers = await Promise.all([request(client, body), request(client, body.subarray(0, 50_000)), request(client, body.subarray(5))]);
    assert.ok(answers[0]!.body.equals(Buffer.concat([body, body])));
    assert.ok(answers[1]!.body.equals(Buffer.concat([body.subarray(0, 50_000), body.subarray(0, 50_000)])));
    assert.ok(answers[2]!.body.equals(Buffer.concat([body.subarray(5), body.subarray(5)])));
  } finally {
    client.close();
    await srv.close();
  }
});

test('write(data, done): done runs once the bytes are written, never for a stream the client reset first', async () => {
  let doneCalls = 0;
  let resetStreams = 0;
  const srv = await serve((s) => {
    s.onEnd = () => {
      s.respond(OK);
      s.write(Buffer.alloc(200_000, 1), () => doneCalls++);
      s.end(TRAILERS);
    };
    s.onClose = () => resetStreams++;
  });
  const client = http2.connect(`http://127.0.0.1:${srv.port}`, { settings: { initialWindowSize: 1000 } });
  try {
    await request(client, Buffer.from('a'));
    assert.equal(doneCalls, 1);
    // This one stalls on the 1000-byte window; the client cancels it.
    const req = client.request({ ':method': 'POST', ':path': '/echo' });
    req.on('error', () => {});
    req.end();
    await new Promise((r) => req.once('data', r));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(doneCalls, 1);
    assert.equal(resetStreams, 2);
    // The connection still serves.
    assert.equal((await request(client, Buffer.from('b'))).status, 200);
    assert.equal(doneCalls, 2);
  } finally {
    client.close();
    await srv.close();
  }
});

// ---- hand-written frames ----

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, id: number, payload: Buffer | number[] = []): Buffer {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(9);
  h.writeUIntBE(p.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, p]);
}
const SETTINGS = frame(4, 0, 0);
/** :method POST, :scheme http, :path / (static indexes 3, 6, 4). */
const REQUEST_BLOCK = [0x83, 0x86, 0x84];

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** A raw client: sends bytes, collects the server's frames, tells when the socket closed. */
async function raw(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const frames: Frame[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      frames.push({ type: buf[3]!, flags: buf[4]!, id: buf.readUInt32BE(5), payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  const until = async (what: () => boolean, label: string) => {
    const deadline = Date.now() + 3000;
    while (!what()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${label}; frames: ${JSON.stringify(frames.map((f) => [f.type, f.flags, f.id]))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    frames,
    send: (...bufs: Buffer[]) => socket.write(Buffer.concat(bufs)),
    isClosed: () => closed,
    until,
    goaway: async () => {
      await until(() => frames.some((f) => f.type === 7), 'GOAWAY');
      const g = frames.find((f) => f.type === 7)!;
      return { lastStreamId: g.payload.readUInt32BE(0), code: g.payload.readUInt32BE(4), debug: g.payload.subarray(8).toString() };
    },
    destroy: () => socket.destroy(),
  };
}

test('hand-written: SETTINGS first and acknowledged, PING answered with its payload', async () => {
  const srv = await serve(echo());
  const c = await raw(srv.port);
  try {
    c.send(PREFACE, SETTINGS, frame(6, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]));
    await c.until(() => c.frames.some((f) => f.type === 6), 'PING ACK');
    assert.equal(c.frames[0]!.type, 4, 'the server speaks SETTINGS first');
    assert.ok(c.frames.some((f) => f.type === 4 && f.flags === 1), 'our SETTINGS acknowledged');
    const ping = c.frames.find((f) => f.type === 6)!;
    assert.equal(ping.flags, 1);
    assert.deepEqual([...ping.payload], [1, 2, 3, 4, 5, 6, 7, 8]);
  } finally {
    c.destroy();
    await srv.close();
  }
});

const violations: [string, Buffer[], number, RegExp][] = [
  ['a frame over 16,384 bytes', [frame(0, 0, 1, Buffer.alloc(16_385))], 6, /over 16384/],
  ['HEADERS on stream 0', [frame(1, 4, 0, REQUEST_BLOCK)], 1, /stream 0/],
  ['HEADERS on an even stream', [frame(1, 4, 2, REQUEST_BLOCK)], 1, /stream 2/],
  ['a stream id lower than one already used', [frame(1, 4, 5, REQUEST_BLOCK), frame(1, 4, 3, REQUEST_BLOCK)], 1, /stream 3/],
  ['a header block HPACK cannot decode', [frame(1, 4, 1, [0x80])], 9, /index 0/],
  ['DATA on a stream never opened', [frame(0, 0, 7, [1])], 1, /idle stream 7/],
  ['a header block interrupted by another frame', [frame(1, 0, 1, REQUEST_BLOCK), frame(6, 0, 0, Buffer.alloc(8))], 1, /interrupted/],
  ['PUSH_PROMISE from a client', [frame(5, 4, 1, [0, 0, 0, 2])], 1, /PUSH_PROMISE/],
  ['a connection window overflow', [frame(8, 0, 0, [0x7f, 0xff, 0xff, 0xff])], 3, /2\^31-1/],
];
for (const [name, frames, code, message] of violations) {
  test(`hand-written: ${name} ends the connection with GOAWAY code ${code}`, async () => {
    const srv = await serve(() => {});
    const c = await raw(srv.port);
    try {
      c.send(PREFACE, SETTINGS, ...frames);
      const g = await c.goaway();
      assert.equal(g.code, code);
      assert.match(g.debug, message);
      await c.until(c.isClosed, 'the socket to close');
    } finally {
      c.destroy();
      await srv.close();
    }
  });
}

test('hand-written: no preface means no HTTP/2: the socket is closed without a frame from the client side parsed', async () => {
  const srv = await serve(echo());
  const c = await raw(srv.port);
  try {
    c.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await c.until(c.isClosed, 'the socket to close');
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('hand-written: streams past SETTINGS_MAX_CONCURRENT_STREAMS are refused (REFUSED_STREAM), the open ones go on', async () => {
  const srv = await serve(echo(), { maxConcurrentStreams: 2 });
  const c = await raw(srv.port);
  try {
    c.send(PREFACE, SETTINGS, frame(1, 4, 1, REQUEST_BLOCK), frame(1, 4, 3, REQUEST_BLOCK), frame(1, 4, 5, REQUEST_BLOCK));
    await c.until(() => c.frames.some((f) => f.type === 3 && f.id === 5), 'RST_STREAM on 5');
    assert.equal(c.frames.find((f) => f.type === 3 && f.id === 5)!.payload.readUInt32BE(0), 7);
    c.send(frame(0, 1, 1, Buffer.from('hello')));
    await c.until(() => c.frames.some((f) => f.type === 1 && f.id === 1 && (f.flags & 1) === 1), 'trailers on 1');
    const data = c.frames.filter((f) => f.type === 0 && f.id === 1).map((f) => f.payload.toString());
    assert.deepEqual(data, ['hello']);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('hand-written: malformed requests are refused on their stream (RST_STREAM PROTOCOL_ERROR); the connection serves on', async () => {
  const opened: number[] = [];
  const srv = await serve((s) => {
    opened.push(s.id);
    echo()(s);
  });
  const c = await raw(srv.port);
  const lit = (name: string, value: string) => [0x00, name.length, ...Buffer.from(name), value.length, ...Buffer.from(value)];
  const cases: [string, number[]][] = [
    ['no :path', [0x83, 0x86]],
    ['no :method', [0x86, 0x84]],
    ['two :path', [...REQUEST_BLOCK, 0x84]],
    ['empty :path', [0x83, 0x86, 0x04, 0x00]],
    ['a pseudo-header after a regular one', [0x83, 0x86, ...lit('x-a', '1'), 0x84]],
    ['an unknown pseudo-header', [...REQUEST_BLOCK, ...lit(':protocol', 'x')]],
    ['an uppercase name', [...REQUEST_BLOCK, ...lit('X-Upper', '1')]],
    ['a space in a name', [...REQUEST_BLOCK, ...lit('x a', '1')]],
    ['connection: close', [...REQUEST_BLOCK, ...lit('connection', 'close')]],
    ['te: gzip', [...REQUEST_BLOCK, ...lit('te', 'gzip')]],
  ];
  try {
    c.send(PREFACE, SETTINGS, ...cases.map(([, block], i) => frame(1, 5, 2 * i + 1, block)), frame(1, 5, 99, [...REQUEST_BLOCK, ...lit('te', 'trailers')]));
    await c.until(() => c.frames.some((f) => f.type === 1 && f.id === 99 && (f.flags & 1) === 1), 'the answer on 99');
    cases.forEach(([name], i) => {
      const rst = c.frames.find((f) => f.type === 3 && f.id === 2 * i + 1);
      assert.ok(rst !== undefined, `${name}: RST_STREAM`);
      assert.equal(rst.payload.readUInt32BE(0), 1, name);
    });
    assert.deepEqual(opened, [99]);
    assert.ok(!c.frames.some((f) => f.type === 7), 'no GOAWAY');
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('hand-written: a client resetting streams faster than 1000 a second is told ENHANCE_YOUR_CALM (rapid reset)', async () => {
  const srv = await serve(() => {}, { maxConcurrentStreams: 10_000 });
  const c = await raw(srv.port);
  try {
    const frames: Buffer[] = [];
    for (let i = 0; i < 1100; i++) frames.push(frame(1, 4, 2 * i + 1, REQUEST_BLOCK), frame(3, 0, 2 * i + 1, [0, 0, 0, 8]));
    c.send(PREFACE, SETTINGS, ...frames);
    const g = await c.goaway();
    assert.equal(g.code, 11);
    assert.ok(g.lastStreamId > 2000 && g.lastStreamId < 2200, String(g.lastStreamId));
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('hand-written: a header list over the limit is answered 431 on its stream; a CONTINUATION flood ends the connection', async () => {
  const srv = await serve(echo(), { maxHeaderListSize: 200 });
  const c = await raw(srv.port);
  try {
    // x-big: 120 bytes (literal without indexing, new name): 281 bytes in all with the overheads.
    const big = [0x00, 5, ...Buffer.from('x-big'), 120, ...Buffer.alloc(120, 0x61)];
    c.send(PREFACE, SETTINGS, frame(1, 5, 1, [...REQUEST_BLOCK, ...big]));
    await c.until(() => c.frames.some((f) => f.type === 1 && f.id === 1), 'HEADERS on 1');
    const h = c.frames.find((f) => f.type === 1 && f.id === 1)!;
    assert.deepEqual([...h.payload], [0x08, 0x03, 0x34, 0x33, 0x31]); // :status 431
    assert.equal(h.flags & 1, 1);
    const flood = [frame(1, 0, 3, REQUEST_BLOCK)];
    for (let i = 0; i < 20; i++) flood.push(frame(9, 0, 3, Buffer.alloc(16_000)));
    c.send(...flood);
    const g = await c.goaway();
    assert.equal(g.code, 11);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('an exception out of a stream callback ends that connection (INTERNAL_ERROR), reported once; the server takes new ones', async () => {
  const errors: unknown[] = [];
  const srv = await serve(
    (s) => {
      if (s.header(':path') === '/boom') throw new Error('boom');
      echo()(s);
    },
    { onError: (err) => errors.push(err) },
  );
  const c = await raw(srv.port);
  try {
    c.send(PREFACE, SETTINGS, frame(1, 5, 1, [0x83, 0x86, 0x04, 5, ...Buffer.from('/boom')]));
    const g = await c.goaway();
    assert.equal(g.code, 2);
    assert.deepEqual(errors.map((e) => (e as Error).message), ['boom']);
    const client = http2.connect(`http://127.0.0.1:${srv.port}`);
    assert.equal((await request(client, Buffer.from('ok'))).body.toString(), 'ok');
    client.close();
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('a client that opens big answers with huge windows and never reads is dropped once maxUnsentBytes wait unsent', async () => {
  const drops: string[] = [];
  const srv = await serve(
    (s) => {
      s.onEnd = () => {
        s.respond(OK);
        s.write(Buffer.alloc(1 << 20, 1));
        s.end(TRAILERS);
      };
    },
    { maxUnsentBytes: 4 << 20, onDrop: (reason) => drops.push(reason) },
  );
  const socket = net.connect(srv.port, '127.0.0.1');
  socket.on('error', () => {});
  let closed = false;
  socket.on('close', () => (closed = true));
  try {
    await new Promise((r) => socket.once('connect', r));
    socket.pause(); // never reads
    const settings = frame(4, 0, 0, [0, 4, 0x7f, 0xff, 0xff, 0xff]); // INITIAL_WINDOW_SIZE 2^31-1
    const grow = frame(8, 0, 0, [0x7f, 0xff, 0, 0]); // the connection window near 2^31-1
    const requests = Array.from({ length: 64 }, (_, i) => frame(1, 5, 2 * i + 1, REQUEST_BLOCK));
    socket.write(Buffer.concat([PREFACE, settings, grow, ...requests]));
    const deadline = Date.now() + 5000;
    while (drops.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(drops.length, 1);
    assert.match(drops[0]!, /left \d+ bytes unread \(over 4194304\)/);
    // Reading again, the client finds the connection closed, with less than the 64 MB it asked for.
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    socket.resume();
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed, true, 'the server closed the connection');
    assert.ok(received < 16 << 20, `${received} bytes arrived`);
  } finally {
    socket.destroy();
    await srv.close();
  }
});

test('request bodies left unfinished across streams are capped (ENHANCE_YOUR_CALM); finished ones do not count', async () => {
  const srv = await serve(echo(), { maxUnfinishedRequestBytes: 100_000 });
  const c = await raw(srv.port);
  const body = (id: number, end: boolean) =>
    [0, 1, 2, 3].map((i) => frame(0, end && i === 3 ? 1 : 0, id, Buffer.alloc(15_000, i))); // 60,000 bytes
  try {
    // Two finished requests of 60 KB each: answered, nothing held.
    // Windows of 1 MiB for the echoes (the client reads everything).
    const windows = [frame(4, 0, 0, [0, 4, 0, 0x10, 0, 0]), frame(8, 0, 0, [0, 0x10, 0, 0])];
    c.send(PREFACE, ...windows, frame(1, 4, 1, REQUEST_BLOCK), ...body(1, true), frame(1, 4, 3, REQUEST_BLOCK), ...body(3, true));
    await c.until(() => [1, 3].every((id) => c.frames.some((f) => f.type === 1 && f.id === id && (f.flags & 1) === 1)), 'both answers');
    // One unfinished 60 KB body is within the cap; a second one is not.
    c.send(frame(1, 4, 5, REQUEST_BLOCK), ...body(5, false));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!c.frames.some((f) => f.type === 7), 'no GOAWAY for 60 KB unfinished');
    c.send(frame(1, 4, 7, REQUEST_BLOCK), ...body(7, false));
    const g = await c.goaway();
    assert.equal(g.code, 11);
    assert.match(g.debug, /unfinished request bodies over 100000 bytes/);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('shutdown(): GOAWAY NO_ERROR at once, new streams refused, the open one answered, then the socket ends', async () => {
  const streams: H2Stream[] = [];
  const srv = await serve((s) => streams.push(s));
  const c = await raw(srv.port);
  try {
    c.send(PREFACE, SETTINGS, frame(1, 5, 1, REQUEST_BLOCK));
    await new Promise<void>((resolve) => {
      const t = setInterval(() => streams.length > 0 && (clearInterval(t), resolve()), 5);
    });
    srv.conns[0]!.shutdown();
    const g = await c.goaway();
    assert.deepEqual([g.code, g.lastStreamId], [0, 1]);
    c.send(frame(1, 5, 3, REQUEST_BLOCK));
    await c.until(() => c.frames.some((f) => f.type === 3 && f.id === 3), 'RST_STREAM on 3');
    assert.equal(c.isClosed(), false);
    streams[0]!.respond(OK, true);
    await c.until(c.isClosed, 'the socket to end');
    assert.equal(streams.length, 1);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test('seeded fuzz: 1500 connections of mostly-valid frame sequences, some bent, never raise out of the connection; the server answers afterwards', async () => {
  const errors: unknown[] = [];
  const srv = await serve(echo(2), { onError: (err) => errors.push(err) });
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((seed / 0x80000000) * n); // the high bits: an LCG's low bits repeat quickly
  };
  // :authority www.example.com as an indexed Huffman literal (RFC 7541 C.4.1), then that entry by index.
  const HUFFMAN_BLOCK = [...REQUEST_BLOCK, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff, 0xbe];
  /** One plausible frame for a connection whose highest stream so far is `last`. */
  const next = (last: number): { bytes: Buffer; opened: number } => {
    // Mostly the newest stream, sometimes an older one, rarely one not opened yet.
    const id = rand(20) === 0 ? last + 2 : rand(5) === 0 ? 1 + 2 * rand((last + 1) / 2) : last;
    switch (last < 0 ? 1 : rand(10)) {
      case 0: {
        // A header block split over HEADERS and CONTINUATION.
        const block = Buffer.from(rand(2) ? HUFFMAN_BLOCK : REQUEST_BLOCK);
        const cut = rand(block.length);
        const end = rand(2);
        return { bytes: Buffer.concat([frame(1, end, last + 2, block.subarray(0, cut)), frame(9, 4, last + 2, block.subarray(cut))]), opened: last + 2 };
      }
      case 1:
      case 2:
        return { bytes: frame(1, 4 | rand(2) | (rand(4) === 0 ? 0x20 : 0), last + 2, rand(4) === 0 ? [0, 0, 0, 0, 0, ...REQUEST_BLOCK] : HUFFMAN_BLOCK), opened: last + 2 };
      case 3:
      case 4: {
        const body = Buffer.from('x'.repeat(rand(40)));
        const padded = rand(3) === 0;
        const pad = rand(6);
        return { bytes: frame(0, rand(2) | (padded ? 8 : 0), id, padded ? Buffer.concat([Buffer.from([pad]), body, Buffer.alloc(pad)]) : body), opened: last };
      }
      case 5:
        return { bytes: frame(8, 0, rand(2) ? 0 : id, [0, 0, rand(4), 1 + rand(255)]), opened: last };
      case 6:
        return { bytes: frame(6, 0, 0, Buffer.alloc(8, rand(256))), opened: last };
      case 7:
        return { bytes: frame(4, 0, 0, [0, 4, 0, rand(2), rand(256), 0, 0, 5, 0, 0, 0x40, 0]), opened: last };
      case 8:
        return { bytes: frame(2, 0, id, [0, 0, 0, rand(4), rand(256)]), opened: last };
      default:
        return { bytes: frame(3, 0, id, [0, 0, 0, rand(12)]), opened: last };
    }
  };
  try {
    for (let round = 0; round < 1500; round++) {
      const frames = [SETTINGS];
      let last = -1;
      for (let k = 0, n = 1 + rand(12); k < n; k++) {
        const f = next(last);
        frames.push(f.bytes);
        last = f.opened;
      }
      const bytes = Buffer.concat(frames);
      // A third of the sequences get one byte bent somewhere.
      if (rand(3) === 0) bytes[rand(bytes.length)] = rand(256);
      const socket = net.connect(srv.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((r) => socket.once('connect', r));
      const cut = rand(bytes.length);
      socket.write(Buffer.concat([PREFACE, bytes.subarray(0, cut)]));
      socket.write(bytes.subarray(cut));
      await new Promise((r) => setTimeout(r, 1));
      socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(errors, []);
    const client = http2.connect(`http://127.0.0.1:${srv.port}`);
    assert.equal((await request(client, Buffer.from('still here'))).body.toString(), 'still herestill here');
    client.close();
  } finally {
    await srv.close();
  }
});
