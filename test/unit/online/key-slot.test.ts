// Redis Cluster key slots, against the values Redis's own documentation gives: the CRC16 check
// value of the cluster spec ("Output for \"123456789\": 31C3", cluster-spec "Appendix A"), the
// CLUSTER KEYSLOT examples (somekey -> 11058, foo{hash_tag} and bar{hash_tag} -> 2515) and the
// spec's hash-tag cases. test/integration/redis-cluster.test.ts also compares with a live cluster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16, keySlot } from '../../../src/online/redis/key-slot.js';

const b = (s: string) => Buffer.from(s, 'latin1');

test('CRC16/XMODEM check value', () => {
  assert.equal(crc16(b('123456789')), 0x31c3);
});

test('CLUSTER KEYSLOT examples from the Redis documentation', () => {
  assert.equal(keySlot(b('somekey')), 11058);
  assert.equal(keySlot(b('foo{hash_tag}')), 2515);
  assert.equal(keySlot(b('bar{hash_tag}')), 2515);
});

test('hash tags as the cluster spec defines them', () => {
  const whole = (s: string) => crc16(b(s)) & 16383;
  assert.equal(keySlot(b('{user1000}.following')), keySlot(b('{user1000}.followers')));
  assert.equal(keySlot(b('{user1000}.following')), whole('user1000'));
  assert.equal(keySlot(b('foo{}{bar}')), whole('foo{}{bar}')); // empty first tag: the whole key
  assert.equal(keySlot(b('foo{{bar}}zap')), whole('{bar')); // from the first { to the first } after it
  assert.equal(keySlot(b('foo{bar}{zap}')), whole('bar')); // only the first tag counts
  assert.equal(keySlot(b('a{b')), whole('a{b')); // no closing brace
  assert.equal(keySlot(b('}{')), whole('}{'));
});
