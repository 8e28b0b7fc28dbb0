/**
 * resp.ts: the fast lane's RESP2 reply parser and command encoder.
 *
 * Every reply below is hand-written RESP2 as the protocol spec defines it
 * (https://redis.io/docs/latest/develop/reference/protocol-spec/): `$<len>\r\n<bytes>\r\n` bulk
 * strings (`$-1\r\n` nil), `*<n>\r\n` arrays (`*-1\r\n` nil array, `*0\r\n` empty), `+` simple
 * strings, `-` errors and `:` integers, each header line ending in CRLF. The parser is checked
 * against hand-computed offsets first, then for independence from how the stream is chunked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KeyedCommand,
  PendingReplies,
  RespProtocolError,
  RespReplyParser,
  encodeArgs,
  encodeCommand,
} from '../../../src/online/redis/resp.js';
import { mulberry32 } from '../../helpers/prng.js';

/** What one completed batch looked like, in plain values. */
interface Decoded {
  /** Each element's bytes as a latin1 string, null for nil. */
  elements: (string | null)[];
  replyElements: number[];
  error: string | null;
  /** The `data` buffer handed to `complete`, latin1. */
  data: string;
  /** Raw element offsets into `data` (-1 length for nil). */
  start: number[];
  length: number[];
  /** Stream bytes fed (in total) when `complete` was called for this batch. */
  fedWhenComplete: number;
}

function decode(p: PendingReplies, data: Buffer, fed: number): Decoded {
  const elements: (string | null)[] = [];
  const start: number[] = [];
  const length: number[] = [];
  for (let i = 0; i < p.count; i++) {
    const s = p.start[i]!;
    const l = p.length[i]!;
    start.push(s);
    length.push(l);
    elements.push(l < 0 ? null : data.toString('latin1', s, s + l));
  }
  return {
    elements,
    replyElements: Array.from(p.replyElements),
    error: p.error,
    data: data.toString('latin1'),
    start,
    length,
    fedWhenComplete: fed,
  };
}

/**
 * Feeds `chunks` to one parser for batches of `replies[b]` top-level replies each (offset arrays
 * sized by `hint`), and returns each batch as it was completed, in completion order.
 */
function run(chunks: readonly Buffer[], replies: readonly number[], hint = 0, opts: { copy?: boolean } = {}): Decoded[] {
  const parser = new RespReplyParser({ copyChunks: opts.copy ?? false });
  const queue = replies.map((n) => new PendingReplies(n, hint));
  // Copy mode as the lane's plain-TCP reads: every chunk lands in one reused buffer, which is
  // scribbled over after each feed, so a view the parser kept instead of a copy shows up.
  const shared = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)));
  let head = 0;
  let fed = 0;
  const out: Decoded[] = [];
  const kept: { p: PendingReplies; data: Buffer; fed: number }[] = [];
  for (const chunk of chunks) {
    const fedAfter = fed + chunk.length;
    const input = opts.copy ? shared.subarray(0, chunk.copy(shared)) : chunk;
    parser.feed(
      input,
      () => queue[head],
      (p, data) => {
        assert.equal(p, queue[head], 'complete() must be called for the batch at the head of the queue');
        assert.equal(p.done, p.replies, 'complete() before every reply of the batch was read');
        out.push(decode(p, data, fedAfter));
        kept.push({ p, data, fed: fedAfter });
        head++;
      },
    );
    if (opts.copy) shared.fill(0xee);
    fed = fedAfter;
  }
  // A batch's bytes stay as they were while later batches arrive (its cells are still in use).
  if (opts.copy) assert.deepEqual(kept.map((k) => decode(k.p, k.data, k.fed)), out, 'a completed batch changed after later feeds');
  return out;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');
const oneChunk = (s: string) => [bytes(s)];

function chunksOf(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

describe('RespReplyParser: reply shapes (one chunk)', () => {
  test('array of bulk strings with a nil, an empty string and a bulk containing CRLF', () => {
    const reply = '*4\r\n$3\r\nfoo\r\n$-1\r\n$0\r\n\r\n$4\r\na\r\nb\r\n';
    const [r, ...rest] = run(oneChunk(reply), [1]);
    assert.equal(rest.length, 0);
    assert.deepEqual(r!.elements, ['foo', null, '', 'a\r\nb']);
    assert.deepEqual(r!.replyElements, [4]);
    assert.equal(r!.error, null);
    assert.equal(r!.data, reply);
    // Offsets by hand: "*4\r\n$3\r\n" is 8 bytes; "foo\r\n$-1\r\n$0\r\n" 14 more; "\r\n$4\r\n" 6 more.
    assert.deepEqual(r!.start, [8, 0, 22, 28]);
    assert.deepEqual(r!.length, [3, -1, 0, 4]);
  });

  test('top-level bulk strings: a value, an empty one and a nil', () => {
    const r = run(oneChunk('$5\r\nhello\r\n$0\r\n\r\n$-1\r\n'), [3]);
    assert.equal(r.length, 1);
    assert.deepEqual(r[0]!.elements, ['hello', '', null]);
    assert.deepEqual(r[0]!.replyElements, [1, 1, 1]);
    assert.deepEqual(r[0]!.start, [4, 15, 0]);
  });

  test('nil array and empty array contribute no elements', () => {
    const r = run(oneChunk('*-1\r\n*0\r\n*1\r\n$1\r\nz\r\n'), [3]);
    assert.deepEqual(r[0]!.elements, ['z']);
    assert.deepEqual(r[0]!.replyElements, [-1, 0, 1]);
  });

  test('simple strings and integers: nothing at top level, one nil element inside an array', () => {
    const top = run(oneChunk('+OK\r\n:12\r\n:-3\r\n$2\r\nhi\r\n'), [4]);
    assert.deepEqual(top[0]!.elements, ['hi']);
    assert.deepEqual(top[0]!.replyElements, [0, 0, 0, 1]);
    assert.equal(top[0]!.error, null);

    const inside = run(oneChunk('*3\r\n:12\r\n+OK\r\n$1\r\nx\r\n'), [1]);
    assert.deepEqual(inside[0]!.elements, [null, null, 'x']);
    assert.deepEqual(inside[0]!.replyElements, [3]);
  });

  test('an error reply inside a batch: the other replies are parsed, error keeps the first, the next batch is intact', () => {
    const batch1 =
      '*2\r\n$1\r\na\r\n$-1\r\n' +
      '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n' +
      '*1\r\n$1\r\nb\r\n' +
      '-ERR second error\r\n';
    const batch2 = '*1\r\n$1\r\nc\r\n';
    const r = run(oneChunk(batch1 + batch2), [4, 1]);
    assert.equal(r.length, 2);
    assert.equal(r[0]!.error, 'WRONGTYPE Operation against a key holding the wrong kind of value');
    assert.deepEqual(r[0]!.elements, ['a', null, 'b']);
    assert.deepEqual(r[0]!.replyElements, [2, 0, 1, 0]);
    assert.equal(r[0]!.data, batch1);
    assert.equal(r[1]!.error, null);
    assert.deepEqual(r[1]!.elements, ['c']);
    assert.equal(r[1]!.data, batch2);
    assert.deepEqual(r[1]!.start, [8]);
  });

  test('an error element inside an array becomes a nil element and sets error', () => {
    const r = run(oneChunk('*3\r\n$1\r\nx\r\n-ERR inner\r\n$1\r\ny\r\n'), [1]);
    assert.deepEqual(r[0]!.elements, ['x', null, 'y']);
    assert.equal(r[0]!.error, 'ERR inner');
  });

  test('several batches in one chunk: each gets only its own bytes, offsets relative to its first byte', () => {
    const b1 = '*2\r\n$2\r\nab\r\n$-1\r\n';
    const b2 = '$3\r\ncde\r\n';
    const b3 = '*0\r\n*1\r\n$0\r\n\r\n';
    const r = run(oneChunk(b1 + b2 + b3), [1, 1, 2]);
    assert.deepEqual(
      r.map((x) => [x.data, x.elements, x.replyElements, x.start]),
      [
        [b1, ['ab', null], [2], [8, 0]],
        [b2, ['cde'], [1], [4]],
        [b3, [''], [0, 1], [12]],
      ],
    );
  });

  test('a batch spanning many chunks: a 100 kB bulk and 1000 small elements, offset arrays grown from a 0 hint', () => {
    const big = Buffer.alloc(100_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff; // includes \r and \n bytes
    const parts: Buffer[] = [bytes(`*1001\r\n$${big.length}\r\n`), big, bytes('\r\n')];
    const small: (string | null)[] = [];
    for (let i = 0; i < 1000; i++) {
      const v = i % 10 === 0 ? null : `v${i}`;
      small.push(v);
      parts.push(bytes(v === null ? '$-1\r\n' : `$${v.length}\r\n${v}\r\n`));
    }
    const stream = Buffer.concat([...parts, bytes('+OK\r\n')]);
    const r = run(chunksOf(stream, 997), [2], 0);
    assert.deepEqual(run(chunksOf(stream, 997), [2], 0, { copy: true }), r, 'copied chunks: same result');
    assert.equal(r.length, 1);
    const [first] = r;
    assert.equal(first!.elements.length, 1001);
    assert.equal(first!.elements[0], big.toString('latin1'));
    assert.deepEqual(first!.elements.slice(1), small);
    assert.deepEqual(first!.replyElements, [1001, 0]);
    assert.equal(first!.data, stream.toString('latin1')); // the batch is the whole stream here
    assert.equal(first!.fedWhenComplete, stream.length);
  });
});

describe('RespReplyParser: copied chunks, each batch in its own buffer grown as replies arrive', () => {
  test('batches of 300 kB to 2.5 MB in 64 kB reads: each batch intact, earlier ones unchanged by later ones', () => {
    const rnd = mulberry32(7);
    const batches: { text: Buffer; values: string[] }[] = [];
    for (const size of [300_000, 900_000, 2_500_000, 5, 700_000]) {
      const values: string[] = [];
      const parts: Buffer[] = [];
      let n = 0;
      while (n < size) {
        const v = Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => String.fromCharCode(33 + Math.floor(rnd() * 90))).join('');
        values.push(v);
        n += v.length;
      }
      parts.push(bytes(`*${values.length}\r\n`), ...values.map((v) => bytes(`$${v.length}\r\n${v}\r\n`)));
      batches.push({ text: Buffer.concat(parts), values });
    }
    const stream = Buffer.concat(batches.map((b) => b.text));
    // run() also checks that every completed batch still reads the same after the whole stream.
    const got = run(chunksOf(stream, 65_536), batches.map(() => 1), 0, { copy: true });
    assert.deepEqual(
      got.map((r) => r.elements),
      batches.map((b) => b.values),
    );
    assert.deepEqual(
      got.map((r) => r.data),
      batches.map((b) => b.text.toString('latin1')),
    );
  });
});

describe('RespReplyParser: the result does not depend on how the stream is chunked', () => {
  // Five batches covering every reply shape; the one-chunk parse is pinned to hand-written
  // expectations, then every other chunking must match it exactly.
  // A 12-byte bulk whose bytes look like reply headers.
  const tricky = '\r\n$-1\r\n*2\r\n:';
  const batchText = [
    `*5\r\n$3\r\nfoo\r\n$-1\r\n$0\r\n\r\n$12\r\n${tricky}\r\n$-1\r\n`, // HMGET-like reply
    '$5\r\nhello\r\n*-1\r\n*0\r\n+OK\r\n:12\r\n',
    '-ERR unknown command\r\n*2\r\n$1\r\nq\r\n-WRONGTYPE inner\r\n',
    '*4\r\n$4\r\n\x01\x02\x03\x04\r\n$2\r\n\xff\x00\r\n$7\r\n_ts:abc\r\n$0\r\n\r\n', // HGETALL-like
    ':-7\r\n$-1\r\n',
  ];
  const replies = [1, 5, 2, 1, 2];
  const stream = bytes(batchText.join(''));
  /** Stream offset just past each batch. */
  const ends: number[] = [];
  for (let n = 0, b = 0; b < batchText.length; b++) ends.push((n += batchText[b]!.length));

  /** Everything but `fedWhenComplete`, which depends on the chunking by design. */
  const strip = (r: Decoded[]) => r.map(({ fedWhenComplete: _, ...rest }) => rest);

  const reference = run([stream], replies);

  test('one chunk: hand-written expectations', () => {
    assert.deepEqual(
      reference.map((r) => [r.elements, r.replyElements, r.error]),
      [
        [['foo', null, '', tricky, null], [5], null],
        [['hello'], [1, -1, 0, 0, 0], null],
        [['q', null], [0, 2], 'ERR unknown command'],
        [['\x01\x02\x03\x04', '\xff\x00', '_ts:abc', ''], [4], null],
        [[null], [0, 1], null],
      ],
    );
    assert.deepEqual(
      reference.map((r) => r.data),
      batchText,
    );
  });

  for (const copy of [false, true]) {
    const mode = copy ? 'copied from a reused read buffer' : 'chunks kept';
    test(`split into two chunks at every position (${mode})`, () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const got = run([stream.subarray(0, cut), stream.subarray(cut)], replies, 0, { copy });
        assert.deepEqual(strip(got), strip(reference), `split at byte ${cut}`);
      }
    });

    test(`split into three chunks at every pair of positions (${mode})`, () => {
      for (let i = 0; i <= stream.length; i++) {
        for (let j = i; j <= stream.length; j++) {
          const got = run([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)], replies, 0, { copy });
          assert.deepEqual(strip(got), strip(reference), `split at bytes ${i} and ${j}`);
        }
      }
    });
  }

  test('1-byte chunks: same result, and each batch completes on its own last byte', () => {
    const got = run(chunksOf(stream, 1), replies);
    assert.deepEqual(strip(got), strip(reference));
    assert.deepEqual(
      got.map((r) => r.fedWhenComplete),
      ends,
    );
  });

  test('random chunkings (seeded) with offset arrays grown from the minimum', () => {
    const rnd = mulberry32(20261122);
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; ) {
        const n = Math.floor(rnd() * 12); // empty chunks included
        chunks.push(stream.subarray(i, i + n));
        i += n;
      }
      assert.deepEqual(strip(run(chunks, replies, 0)), strip(reference), `round ${round}`);
      assert.deepEqual(strip(run(chunks, replies, 0, { copy: true })), strip(reference), `round ${round}, copied`);
    }
  });

  test('a completed batch and the next one in the same chunk, the rest later', () => {
    // Batch 0 ends inside the chunk; batch 1 starts in it and ends two chunks later.
    const cut1 = ends[0]! + 3;
    const cut2 = ends[0]! + 9;
    const got = run([stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)], replies);
    assert.deepEqual(strip(got), strip(reference));
    assert.deepEqual(
      got.map((r) => r.fedWhenComplete),
      [cut1, stream.length, stream.length, stream.length, stream.length],
    );
  });
});

describe('RespReplyParser: protocol errors', () => {
  const feedAll = (s: string, replies: number[]) => () => run(oneChunk(s), replies);

  test('a nested array is refused', () => {
    assert.throws(feedAll('*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n', [1]), RespProtocolError);
    // Also when the nested header arrives in a later chunk.
    assert.throws(() => run([bytes('*2\r\n$1\r\na\r\n'), bytes('*0\r\n')], [1]), RespProtocolError);
  });

  test('a type byte RESP2 does not define (RESP3 map) is refused', () => {
    assert.throws(feedAll('%1\r\n$1\r\na\r\n$1\r\nb\r\n', [1]), RespProtocolError);
  });

  test('a non-digit in a length header is refused', () => {
    assert.throws(feedAll('$x\r\n', [1]), RespProtocolError);
  });

  test('a reply with no batch waiting for it is refused', () => {
    assert.throws(feedAll('+OK\r\n+OK\r\n', [1]), RespProtocolError);
    assert.throws(feedAll('+OK\r\n', []), RespProtocolError);
  });
});

describe('KeyedCommand and encodeCommand', () => {
  test('encodeCommand / encodeArgs produce RESP2 arrays of bulk strings, lengths in bytes', () => {
    assert.equal(
      encodeCommand(['HMGET', 'k', Buffer.from([0, 1])]).toString('latin1'),
      '*3\r\n$5\r\nHMGET\r\n$1\r\nk\r\n$2\r\n\x00\x01\r\n',
    );
    assert.equal(encodeArgs(['é']).toString('latin1'), '$2\r\n\xc3\xa9\r\n'); // UTF-8: 2 bytes
    assert.equal(encodeCommand([]).toString('latin1'), '*0\r\n');
  });

  const tails: [string, (Buffer | string)[]][] = [
    ['HGETALL', []],
    ['HMGET', [Buffer.from([0x01, 0x02, 0x0d, 0x0a]), '_ts:view_a', Buffer.alloc(0)]],
    // 9 tail args: argc 11, a two-digit array header.
    ['HMGET', Array.from({ length: 9 }, (_, i) => `field_${i}`)],
  ];

  for (const [name, tail] of tails) {
    test(`write() equals encodeCommand byte for byte and size() is exact: ${name} with ${tail.length} tail args`, () => {
      const cmd = new KeyedCommand(name, tail);
      for (const len of [0, 1, 9, 10, 99, 100, 999, 1000]) {
        const key = Buffer.alloc(len);
        for (let i = 0; i < len; i++) key[i] = (i * 37 + len) & 0xff;
        const expected = encodeCommand([name, key, ...tail]);
        assert.equal(cmd.size(len), expected.length, `size() for a ${len}-byte key`);

        // Written at an offset inside a larger buffer: nothing outside [pos, end) is touched.
        const pos = 13;
        const out = Buffer.alloc(pos + expected.length + 7, 0xaa);
        const end = cmd.write(out, pos, key);
        assert.equal(end, pos + expected.length, `end position for a ${len}-byte key`);
        assert.ok(out.subarray(pos, end).equals(expected), `bytes for a ${len}-byte key`);
        assert.ok(out.subarray(0, pos).every((b) => b === 0xaa), 'bytes before pos untouched');
        assert.ok(out.subarray(end).every((b) => b === 0xaa), 'bytes after the command untouched');
      }
    });
  }

  test('several keyed commands back to back parse as the same commands', () => {
    const cmd = new KeyedCommand('HMGET', ['a', 'b']);
    const keys = [Buffer.from('k1'), Buffer.alloc(10, 7), Buffer.alloc(100, 9)];
    const out = Buffer.alloc(keys.reduce((n, k) => n + cmd.size(k.length), 0));
    let pos = 0;
    for (const k of keys) pos = cmd.write(out, pos, k);
    assert.equal(pos, out.length);
    assert.ok(out.equals(Buffer.concat(keys.map((k) => encodeCommand(['HMGET', k, 'a', 'b'])))));
  });
});
