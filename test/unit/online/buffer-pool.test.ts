import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrayBufferPool } from '../../../src/online/buffer-pool.js';

test('a given-back buffer goes to the next take of its size class, once', () => {
  const pool = new ArrayBufferPool();
  const a = pool.take(100_000);
  assert.equal(a.byteLength, 131_072, 'rounded up to a power of two');
  pool.give(a);
  pool.give(a); // twice: ignored, or two takes would share it
  const b = pool.take(70_000);
  const c = pool.take(131_072);
  assert.equal(b, a);
  assert.notEqual(c, a);
});

test('small, huge and foreign buffers are never pooled', () => {
  const pool = new ArrayBufferPool();
  const small = pool.take(1000);
  assert.equal(small.byteLength, 1000);
  pool.give(small);
  assert.notEqual(pool.take(1000), small);
  const foreign = new ArrayBuffer(65_536);
  pool.give(foreign);
  assert.notEqual(pool.take(65_536), foreign);
  const huge = pool.take(17 * 1024 * 1024);
  assert.equal(huge.byteLength, 17 * 1024 * 1024);
  pool.give(huge);
  assert.notEqual(pool.take(17 * 1024 * 1024), huge);
});

test('buffers of different size classes do not mix', () => {
  const pool = new ArrayBufferPool();
  const big = pool.take(1_000_000);
  pool.give(big);
  assert.notEqual(pool.take(65_536), big);
  assert.equal(pool.take(600_000), big);
});
