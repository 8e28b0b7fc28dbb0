import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRepoConfig } from '../../../src/config/load.js';
import { validateForServe } from '../../../src/config/validate-serve.js';

const where = { repoPath: '/repo', configPath: '/repo/feature_store.yaml', env: {} };

test('online feature view versioning is refused by name (its Redis fields are <view>_v<N>)', () => {
  const cfg = parseRepoConfig(
    'project: p\nregistry:\n  path: data/registry.db\n  enable_online_feature_view_versioning: true\nonline_store:\n  type: redis\n',
    where,
  );
  assert.throws(() => validateForServe(cfg), /registry\.enable_online_feature_view_versioning/);
});

test('a plain local redis repo is servable', () => {
  const cfg = parseRepoConfig('project: p\nregistry: data/registry.db\nonline_store:\n  type: redis\n', where);
  assert.doesNotThrow(() => validateForServe(cfg));
});

test('platter.redis_read picks the Redis read path and rejects anything else by name', () => {
  const yaml = (v: string) => `project: p\nregistry: data/registry.db\nonline_store:\n  type: redis\nplatter:\n  redis_read: ${v}\n`;
  assert.equal(parseRepoConfig(yaml('pipeline'), where).platter.redisRead, 'pipeline');
  assert.equal(parseRepoConfig(yaml('script'), where).platter.redisRead, 'script');
  assert.equal(parseRepoConfig('project: p\nregistry: data/registry.db\n', where).platter.redisRead, 'auto');
  assert.throws(() => parseRepoConfig(yaml('lua'), where), /platter\.redis_read/);
});

test('platter.workers takes a process count or auto, default 1, and rejects anything else by name', () => {
  const yaml = (v: string) => `project: p\nregistry: data/registry.db\nplatter:\n  workers: ${v}\n`;
  assert.equal(parseRepoConfig('project: p\nregistry: data/registry.db\n', where).platter.workers, 1);
  assert.equal(parseRepoConfig(yaml('4'), where).platter.workers, 4);
  assert.equal(parseRepoConfig(yaml('auto'), where).platter.workers, 'auto');
  for (const bad of ['0', '-1', '1.5', 'many', '257']) {
    assert.throws(() => parseRepoConfig(yaml(bad), where), /platter\.workers/, bad);
  }
});
