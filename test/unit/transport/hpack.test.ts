// HPACK decoding against RFC 7541's own examples (Appendix C: each block's bytes, the header
// list it decodes to, and the dynamic table after it), and against header blocks node:http2's
// encoder (nghttp2) writes, taken off a real connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { HpackDecoder, HpackError, encodeHeaderBlock } from '../../../src/transport/grpc/h2/hpack.js';
import { huffmanDecode } from '../../../src/transport/grpc/h2/huffman.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 7541 C.3: three requests on one connection, no Huffman coding.
const C3 = [
  {
    block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
    headers: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  },
  {
    block: '8286 84be 5808 6e6f 2d63 6163 6865',
    headers: [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  },
  {
    block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    headers: [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
  },
];

// RFC 7541 C.4: the same requests with Huffman-coded strings.
const C4 = [
  { block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', headers: C3[0]!.headers },
  { block: '8286 84be 5886 a8eb 1064 9cbf', headers: C3[1]!.headers },
  { block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', headers: C3[2]!.headers },
];

// RFC 7541 C.6: three responses with Huffman coding and a 256-byte table, so entries are evicted.
const C6 = [
  {
    block:
      '4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3',
    headers: [[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
  },
  {
    block: '4883 640e ffc1 c0bf',
    headers: [[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']],
  },
  {
    block:
      '88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
    headers: [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
      ['location', 'https://www.example.com'],
      ['content-encoding', 'gzip'],
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ],
  },
];

for (const [name, blocks, tableSize] of [
  ['C.3 requests without Huffman', C3, 4096],
  ['C.4 requests with Huffman', C4, 4096],
  ['C.6 responses with Huffman and eviction', C6, 256],
] as const) {
  test(`RFC 7541 ${name}: each block decodes to the RFC's header list on one table`, () => {
    const decoder = new HpackDecoder(tableSize, 1 << 16);
    for (const { block, headers } of blocks) {
      // C.6's blocks start by shrinking the table to 256 through the size the decoder allows.
      const out = decoder.decode(hex(block));
      assert.equal(out.tooLarge, false);
      assert.deepEqual(out.headers, headers);
    }
  });
}

test('RFC 7541 C.6: the table holds only what fits in 256 bytes (index 62 is the newest entry, the evicted ones are gone)', () => {
  const decoder = new HpackDecoder(256, 1 << 16);
  for (const { block } of C6) decoder.decode(hex(block));
  // The RFC's table after C.6.3: set-cookie (98), content-encoding (52), date (65); size 215.
  assert.deepEqual(decoder.decode(Buffer.from([0x80 | 62, 0x80 | 63, 0x80 | 64])).headers, [
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
    ['content-encoding', 'gzip'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
  ]);
  assert.throws(() => decoder.decode(Buffer.from([0x80 | 65])), HpackError);
});

test('RFC 7541 C.1 integers: 1337 in a 5-bit prefix (C.1.2), a table size just over the limit, a 7-bit index past the table', () => {
  const decoder = new HpackDecoder(4096, 1 << 16);
  decoder.decode(hex('3f 9a 0a')); // table size update to 31 + 26 + (10 << 7) = 1337
  decoder.decode(hex('3f e1 1f')); // 31 + 97 + (31 << 7) = 4096: the limit itself is allowed
  assert.throws(() => decoder.decode(hex('3f e2 1f')), /4097 is over the 4096 allowed/);
  assert.throws(() => decoder.decode(hex('ff 2a')), /index 169 is past the table/); // 127 + 42
});

test('the decoder refuses malformed blocks with HpackError', () => {
  const cases: [string, RegExp][] = [
    ['80', /index 0/],
    ['be', /past the table/], // 62 on an empty table
    ['41 85', /runs past/], // a 5-byte value with none there
    ['ff ff ff ff ff 7f', /out of range/],
    ['ff 80', /runs past/],
    ['82 3f e1 1f', /after a header field/],
    ['40 81 ff 00', /EOS|padding/], // a one-byte Huffman name of 8 one bits: padding longer than 7 bits
    ['40 82 ff ff 00', /EOS|padding/],
  ];
  for (const [block, message] of cases) {
    assert.throws(() => new HpackDecoder(4096, 1 << 16).decode(hex(block)), (err: unknown) => err instanceof HpackError && message.test(err.message), block);
  }
});

test('Huffman: a string must end in at most 7 bits of ones; EOS inside is an error', () => {
  // '0' is 00000 (5 bits): '0' then three 1 bits of padding.
  assert.equal(huffmanDecode(Buffer.from([0b00000111]), 0, 1).toString(), '0');
  assert.throws(() => huffmanDecode(Buffer.from([0b00000101]), 0, 1), /padding/);
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), /EOS/);
});

test('a header list over SETTINGS_MAX_HEADER_LIST_SIZE is flagged, and the table still follows it', () => {
  const decoder = new HpackDecoder(4096, 100);
  // C.3.1: :method, :scheme, :path come to 122 bytes with their 32-byte overheads.
  const first = decoder.decode(hex(C3[0]!.block));
  assert.equal(first.tooLarge, true);
  assert.deepEqual(first.headers, [[':method', 'GET'], [':scheme', 'http']]);
  // :authority was past the limit but was inserted all the same: index 62 names it.
  assert.deepEqual(decoder.decode(Buffer.from([0x80 | 62])).headers, [[':authority', 'www.example.com']]);
});

test('encodeHeaderBlock writes blocks the decoder reads back (node:http2 clients read them in the gRPC server tests)', () => {
  const fields = [
    [':status', '200'],
    ['content-type', 'application/grpc+proto'],
    ['grpc-accept-encoding', 'identity,gzip,deflate'],
    ['grpc-status', '0'],
  ] as const;
  const block = encodeHeaderBlock(fields);
  assert.equal(block[0], 0x88);
  assert.deepEqual(new HpackDecoder(4096, 1 << 16).decode(block).headers, fields);
});

test('header blocks written by node:http2 (nghttp2) decode to the headers it was given, call after call', async () => {
  // A raw TCP server records the client's HEADERS payloads; node:http2's client writes them
  // with its dynamic table and Huffman coding, as gRPC clients built on nghttp2 do.
  const blocks: Buffer[] = [];
  let bytes = Buffer.alloc(0);
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      let at = bytes.indexOf('\r\n\r\nSM\r\n\r\n') >= 0 ? 24 : 0;
      const seen: Buffer[] = [];
      while (bytes.length - at >= 9) {
        const len = bytes.readUIntBE(at, 3);
        if (bytes.length - at < 9 + len) break;
        if (bytes[at + 3] === 1) seen.push(bytes.subarray(at + 9, at + 9 + len));
        at += 9 + len;
      }
      blocks.splice(0, blocks.length, ...seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  const sent: Record<string, string>[] = [];
  for (let i = 0; i < 5; i++) {
    const headers = {
      ':method': 'POST',
      ':path': '/feast.serving.ServingService/GetOnlineFeatures',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${1000 + i * 7}m`,
      'x-request-id': `request-${i}-${'z'.repeat(i * 20)}`,
    };
    sent.push(headers);
    client.request(headers, { endStream: true }).on('error', () => {});
  }
  const deadline = Date.now() + 5000;
  while (blocks.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  client.destroy();
  server.close();
  assert.equal(blocks.length, 5, 'the client sent five HEADERS frames');
  const decoder = new HpackDecoder(4096, 1 << 16);
  for (let i = 0; i < 5; i++) {
    const got = Object.fromEntries(decoder.decode(blocks[i]!).headers);
    for (const [name, value] of Object.entries(sent[i]!)) assert.equal(got[name], value, `call ${i} header ${name}`);
    assert.equal(got[':scheme'], 'http');
    assert.equal(got[':authority'], `127.0.0.1:${port}`);
  }
  // After the first call the repeated headers are table hits: the next block is smaller though its request id is longer.
  assert.ok(blocks[1]!.length < blocks[0]!.length, `${blocks[1]!.length} vs ${blocks[0]!.length}`);
});
