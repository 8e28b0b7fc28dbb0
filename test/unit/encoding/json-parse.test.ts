/**
 * parseJsonExact: JSON with exact integers (request bodies carrying int64 entity ids).
 *
 * Feast reference: the Python server parses bodies with json.loads (Python ints are exact), see
 * sdk/python/feast/feature_server.py (GetOnlineFeaturesRequest); Platter's rule is in
 * /work/shared/DESIGN.md §8 "int64 precision".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonExact } from '../../../src/encoding/json-parse.js';
import { PlatterError } from '../../../src/errors.js';

function assertJsonError(text: string, position?: number): void {
  assert.throws(
    () => parseJsonExact(text),
    (e: unknown) => {
      assert.ok(e instanceof PlatterError, `expected PlatterError for ${JSON.stringify(text)}, got ${String(e)}`);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /^request body is not valid JSON: .* at position \d+$/);
      if (position !== undefined) assert.ok(e.message.endsWith(`at position ${position}`), e.message);
      return true;
    },
    text,
  );
}

describe('parseJsonExact', () => {
  it('keeps int64 entity ids exact', () => {
    const v = parseJsonExact('{"entities":{"driver_id":[9223372036854775807,-9223372036854775808,1001]}}') as {
      entities: { driver_id: unknown[] };
    };
    assert.deepStrictEqual(v.entities.driver_id, [9223372036854775807n, -9223372036854775808n, 1001]);
  });

  it('returns numbers for safe integers, even with 16 digits', () => {
    assert.deepStrictEqual(parseJsonExact('[9007199254740991,-9007199254740991,1000000000000000]'), [
      9007199254740991, -9007199254740991, 1000000000000000,
    ]);
    assert.deepStrictEqual(parseJsonExact('[9007199254740992,-9007199254740992,123456789012345678901234567890]'), [
      9007199254740992n, -9007199254740992n, 123456789012345678901234567890n,
    ]);
  });

  it('keeps fractions and exponents as numbers (Python floats)', () => {
    assert.deepStrictEqual(parseJsonExact('[12345678901234567.0,1e20,1.5E-3,-0,0.1234567890123456789]'), [
      12345678901234567.0, 1e20, 1.5e-3, -0, 0.1234567890123456789,
    ]);
  });

  it('agrees with JSON.parse on ordinary documents (both paths)', () => {
    const docs = [
      '{"features":["fv:a","fv:b"],"entities":{"id":[1,2,3]},"full_feature_names":true}',
      ' [ ] ',
      '{}',
      '"x"',
      'null',
      '[true,false,null,{"a":{"b":[[],{}]}}]',
      '{"s":"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r\\ud83d\\ude00 raw é 😀"}',
      '{"a":1,"a":2}',
      '{"__proto__":{"x":1},"constructor":2}',
      '{"lone":"\\ud800"}',
    ];
    for (const d of docs) {
      assert.deepStrictEqual(parseJsonExact(d), JSON.parse(d), d);
      // force the exact parser with a long digit run elsewhere in the document
      const forced = `[${d},"1234567890123456"]`;
      const got = parseJsonExact(forced) as unknown[];
      assert.deepStrictEqual(got, JSON.parse(forced), forced);
    }
  });

  it('creates __proto__ as an own property, never as the prototype', () => {
    const v = parseJsonExact('{"__proto__":{"polluted":true},"n":12345678901234567890}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.ok(Object.hasOwn(v, '__proto__'));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(v['n'], 12345678901234567890n);
  });

  it('decodes escapes including surrogate pairs in the exact parser', () => {
    const v = parseJsonExact('{"id":12345678901234567890,"s":"\\uD83D\\uDE00\\u0041\\n"}') as Record<string, unknown>;
    assert.equal(v['s'], '😀A\n');
  });

  it('reports errors with positions', () => {
    assertJsonError('', 0);
    assertJsonError('{', 1);
    assertJsonError('{"a":}', 5);
    assertJsonError('[1,]', 3);
    assertJsonError('[1 2]', 3);
    assertJsonError('{"a" 1}', 5);
    assertJsonError('{a:1}', 1);
    assertJsonError('[01]', 1);
    assertJsonError('[1.]', 3);
    assertJsonError('[1e]', 3);
    assertJsonError('[-]', 1);
    assertJsonError('"abc', 0);
    assertJsonError('"a\\x"', 2);
    assertJsonError('"\\u12g4"', 1);
    assertJsonError('"a\nb"', 2);
    assertJsonError('[1] x', 4);
    assertJsonError('tru', 0);
    assertJsonError('NaN', 0);
    assertJsonError('[9223372036854775807', 20);
    assertJsonError('{"id":[12345678901234567890}', 27);
  });

  it('limits nesting depth in the exact parser instead of overflowing the stack', () => {
    assertJsonError('['.repeat(5000) + '12345678901234567890' + ']'.repeat(5000), 2000);
    const ok = parseJsonExact('['.repeat(100) + '12345678901234567890' + ']'.repeat(100));
    assert.ok(Array.isArray(ok));
  });
});
