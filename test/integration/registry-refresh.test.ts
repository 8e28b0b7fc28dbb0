/**
 * RegistryCache refresh semantics (STYLE.md habit 7): single-flight with one queued follow-up run,
 * debounced events, a rejected registry that keeps the last good index, and the file registry's
 * watch (rename and in-place writes) and two-step change detection (stat, then content hash), on
 * the real file system. A scripted source (our own RegistrySource interface, not a stubbed
 * library) holds loads open so the interleavings are deterministic.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { encodeRegistry, registryObject, type RepoDefinition } from '../../src/registry/definition.js';
import { RegistryCache } from '../../src/registry/registry-cache.js';
import { FileRegistrySource } from '../../src/registry/sources/file.js';
import type { LoadedRegistry, RegistrySource } from '../../src/registry/sources/source.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const def = (views: string[], service?: { name: string; view: string }): RepoDefinition => ({
  project: 'p',
  entities: [{ name: 'driver', joinKey: 'driver_id', valueType: 'INT64' }],
  featureViews: views.map((name) => ({ name, entities: ['driver'], features: [{ name: 'f', valueType: 'INT64' as const }] })),
  ...(service ? { featureServices: [{ name: service.name, projections: [{ view: service.view }] }] } : {}),
});

/** A source whose token and content the test sets, and whose loads can be held open. */
class ScriptedSource implements RegistrySource {
  readonly description = 'scripted registry';
  token = 't1';
  registry: Record<string, any> = registryObject(def(['a']));
  checks = 0;
  loads = 0;
  closed = false;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;

  hold(): void {
    this.#gate = new Promise((r) => (this.#open = r));
  }
  release(): void {
    this.#open?.();
    this.#gate = null;
  }
  async changeToken(): Promise<string> {
    this.checks++;
    return this.token;
  }
  async load(): Promise<LoadedRegistry> {
    this.loads++;
    // What was read is what the source held when the load started.
    const read = { registry: this.registry, token: this.token };
    if (this.#gate) await this.#gate;
    return read;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const viewsOf = (c: RegistryCache) => [...c.current().views.keys()].sort();

describe('RegistryCache: single-flight refresh', () => {
  it('concurrent triggers during a load coalesce into one queued run, which sees changes the first load missed', async () => {
    const src = new ScriptedSource();
    const cache = new RegistryCache({ source: src, project: 'p', ttlSeconds: 0, logger, watch: false });
    await cache.start();
    assert.equal(src.loads, 1);

    src.token = 't2';
    src.registry = registryObject(def(['a', 'b']));
    src.hold();
    const first = cache.refresh();
    await sleep(5); // the first run has read t2 and is loading
    // A second apply lands while that load is in flight.
    src.token = 't3';
    src.registry = registryObject(def(['a', 'b', 'c']));
    const later = Array.from({ length: 5 }, () => cache.refresh());
    assert.ok(later.every((p) => p === later[0]), 'later callers share one queued run');
    src.release();

    const r1 = await first;
    assert.equal(r1.changed, true);
    assert.deepEqual([...r1.index.views.keys()].sort(), ['a', 'b']);
    const r2 = await later[0]!;
    // A plain "share the in-flight promise" would have handed back a, b here.
    assert.deepEqual([...r2.index.views.keys()].sort(), ['a', 'b', 'c']);
    assert.equal(src.loads, 3);
    assert.deepEqual(viewsOf(cache), ['a', 'b', 'c']);
    await cache.close();
    assert.equal(src.closed, true);
  });

  it('an unchanged token costs a check, not a load; force loads anyway', async () => {
    const src = new ScriptedSource();
    const cache = new RegistryCache({ source: src, project: 'p', ttlSeconds: 0, logger, watch: false });
    const index = await cache.start();
    const r = await cache.refresh();
    assert.equal(r.changed, false);
    assert.equal(r.index, index);
    assert.equal(src.loads, 1);
    assert.equal((await cache.refresh({ force: true })).changed, true);
    assert.equal(src.loads, 2);
    await cache.close();
  });

  it('a burst of events becomes one refresh', async () => {
    const src = new ScriptedSource();
    const cache = new RegistryCache({ source: src, project: 'p', ttlSeconds: 0, logger, watch: false, eventDebounceMs: 30, eventMaxDelayMs: 200 });
    await cache.start();
    const checks = src.checks;
    for (let i = 0; i < 50; i++) cache.notify('test');
    const t0 = Date.now();
    while (src.checks === checks && Date.now() - t0 < 5000) await sleep(5);
    await sleep(100); // room for a second refresh, which must not come
    assert.equal(src.checks, checks + 1);
    assert.equal(cache.stats.events, 50);
    await cache.close();
  });

  it('a registry that does not validate is refused once, the last good index serves, and it is retried only when the source moves', async () => {
    const src = new ScriptedSource();
    const cache = new RegistryCache({ source: src, project: 'p', ttlSeconds: 0, logger, watch: false });
    const good = await cache.start();

    const bad = registryObject(def(['a'])) as Record<string, any>;
    bad.feature_services = [{ spec: { name: 'svc', project: 'p', features: [{ feature_view_name: 'gone' }] } }];
    src.token = 'bad';
    src.registry = bad;
    await assert.rejects(cache.refresh(), (e: any) => e.code === 'REGISTRY_INVALID' && /feature service 'svc' uses feature view 'gone'/.test(e.message));
    assert.equal(cache.current(), good);
    assert.equal(cache.stats.failures, 1);
    assert.match(cache.stats.lastError ?? '', /'gone'/);

    await assert.rejects(cache.refresh(), (e: any) => e.code === 'REGISTRY_INVALID');
    assert.equal(src.loads, 2, 'the same bad registry is not loaded again');
    assert.equal(cache.stats.failures, 1, 'nor counted again');

    src.token = 'fixed';
    src.registry = registryObject(def(['a', 'z']));
    assert.equal((await cache.refresh()).changed, true);
    assert.deepEqual(viewsOf(cache), ['a', 'z']);
    assert.equal(cache.stats.lastError, null);
    await cache.close();
  });
});

describe('file registry: watch and change detection', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const setup = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'platter-watch-'));
    dirs.push(dir);
    const path = join(dir, 'registry.db');
    writeFileSync(path, encodeRegistry(def(['a'])));
    const source = new FileRegistrySource(path);
    // No poll: only the watch (or an explicit refresh) can change what is served.
    const cache = new RegistryCache({ source, project: 'p', ttlSeconds: 0, logger, eventDebounceMs: 30 });
    await cache.start();
    return { dir, path, source, cache };
  };
  const eventually = async (what: string, ok: () => boolean) => {
    const t0 = Date.now();
    while (!ok()) {
      if (Date.now() - t0 > 10_000) assert.fail(`${what}: not within 10 s`);
      await sleep(20);
    }
  };

  it('picks up a registry replaced by a rename (atomic write), with polling off', async () => {
    const { dir, path, cache } = await setup();
    const tmp = join(dir, 'registry.db.tmp');
    writeFileSync(tmp, encodeRegistry(def(['a', 'b'])));
    renameSync(tmp, path);
    await eventually('view b served', () => cache.current().views.has('b'));
    assert.ok(cache.stats.events > 0);
    assert.equal(cache.watchStatus?.connected, true);
    // and again: the watch follows the new file
    writeFileSync(tmp, encodeRegistry(def(['c'])));
    renameSync(tmp, path);
    await eventually('view c served', () => cache.current().views.has('c') && !cache.current().views.has('a'));
    await cache.close();
  });

  it('picks up a registry rewritten in place (as Feast writes it)', async () => {
    const { path, cache } = await setup();
    writeFileSync(path, encodeRegistry(def(['a', 'd'])));
    await eventually('view d served', () => cache.current().views.has('d'));
    await cache.close();
  });

  it('a touch, or the same bytes written again, does not reload (content hash)', async () => {
    const { path, cache } = await setup();
    const bytes = encodeRegistry(def(['a'], undefined), new Date(0));
    writeFileSync(path, bytes);
    await cache.refresh();
    const swaps = cache.stats.swaps;
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal((await cache.refresh()).changed, false);
    writeFileSync(path, bytes);
    assert.equal((await cache.refresh()).changed, false);
    assert.equal(cache.stats.swaps, swaps);
    writeFileSync(path, encodeRegistry(def(['a', 'e'])));
    assert.equal((await cache.refresh()).changed, true);
    await cache.close();
  });

  it('an empty file (a write in progress) is refused and the last good registry serves', async () => {
    const { path, cache } = await setup();
    const failures = cache.stats.failures;
    writeFileSync(path, '');
    await assert.rejects(cache.refresh(), (e: any) => e.code === 'REGISTRY_INVALID' && /is empty/.test(e.message));
    assert.ok(cache.stats.failures > failures);
    assert.deepEqual(viewsOf(cache), ['a']);
    await cache.close();
  });
});
