/**
 * Holds the current RegistryIndex and refreshes it off the request path (STYLE.md habit 7, after
 * ioredis `refreshSlotsCache`). Three things trigger a refresh, all through one single-flight
 * `refresh()`: the poll every `cache_ttl_seconds` (0 = no poll, as Feast: load once), events from
 * the source (PostgreSQL NOTIFY, a file watch; debounced, since one `feast apply` writes many rows),
 * and explicit calls (the admin endpoint). A refresh first compares the source's cheap change token
 * and loads only when it moved. A new index is built beside the old one and swapped in one
 * assignment; a load that fails, or a registry that does not validate, keeps the last good index.
 */
import type { Logger } from 'pino';
import { PlatterError, isPlatterError } from '../errors.js';
import { buildRegistryIndex, type RegistryIndex } from './registry-index.js';
import type { RegistrySource, RegistryWatch, RegistryWatchStatus } from './sources/source.js';

export interface RegistryCacheOptions {
  source: RegistrySource;
  project: string;
  /** Poll interval; 0 disables polling. */
  ttlSeconds: number;
  logger: Logger;
  /** Subscribe to the source's change events (file watch, LISTEN). @default true */
  watch?: boolean;
  /** Quiet time after the last event of a burst before refreshing. @default 150 */
  eventDebounceMs?: number;
  /** Longest an event waits for its burst to end. @default 750 */
  eventMaxDelayMs?: number;
  /** Retry interval while no registry has loaded. @default 2000 */
  retryMs?: number;
  /** Called after every successful swap (plan caches hang off the index, so nothing to drop here). */
  onSwap?: (index: RegistryIndex) => void;
}

export interface RegistryStats {
  /** The last refresh that confirmed the served registry is the source's (loaded, or token unchanged). */
  lastSuccess: Date | null;
  /** The last swap. */
  lastChange: Date | null;
  /** Refreshes that failed (load error or a registry that does not validate). */
  failures: number;
  lastError: string | null;
  lastFailure: Date | null;
  /** Completed refreshes, successful or not. */
  refreshes: number;
  /** Indexes swapped in. */
  swaps: number;
  /** Change events received from the source. */
  events: number;
  /** Milliseconds of the last full load + index build. */
  lastLoadMs: number | null;
}

export interface RefreshResult {
  readonly index: RegistryIndex;
  /** False when the change token showed nothing new. */
  readonly changed: boolean;
}

export class RegistryCache {
  #index: RegistryIndex | null = null;
  #token: string | null = null;
  /** Token of a registry that did not validate: not loaded again until the source moves on. */
  #failed: { token: string; error: unknown } | null = null;
  #inFlight: Promise<RefreshResult> | null = null;
  /** One run queued behind the one in flight; later triggers join it. */
  #queued: { force: boolean; promise: Promise<RefreshResult> } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #debounce: NodeJS.Timeout | null = null;
  #burstStart: number | null = null;
  #watch: RegistryWatch | null = null;
  #closed = false;
  readonly #opts: RegistryCacheOptions;
  readonly stats: RegistryStats = {
    lastSuccess: null,
    lastChange: null,
    failures: 0,
    lastError: null,
    lastFailure: null,
    refreshes: 0,
    swaps: 0,
    events: 0,
    lastLoadMs: null,
  };

  constructor(opts: RegistryCacheOptions) {
    this.#opts = opts;
  }

  /** The index to serve, or a typed 503 while no registry has loaded yet. A plain field read. */
  current(): RegistryIndex {
    const idx = this.#index;
    if (idx === null) {
      throw new PlatterError(
        'REGISTRY_UNAVAILABLE',
        `the registry has not loaded yet (${this.#opts.source.description}${this.stats.lastError ? `: ${this.stats.lastError}` : ''})`,
      );
    }
    return idx;
  }

  get loaded(): boolean {
    return this.#index !== null;
  }

  get source(): RegistrySource {
    return this.#opts.source;
  }

  /** The source's event channel, when it has one. */
  get watchStatus(): RegistryWatchStatus | null {
    return this.#watch !== null ? (this.#opts.source.watchStatus ?? null) : null;
  }

  /**
   * First load, then the poll and the event subscription. Resolves once loaded; rejects if the
   * first load fails (the poll and events keep retrying).
   */
  async start(): Promise<RegistryIndex> {
    try {
      return (await this.refresh({ force: true })).index;
    } finally {
      this.#schedule();
      const { source, logger } = this.#opts;
      if (this.#opts.watch !== false && source.watch && !this.#closed && this.#watch === null) {
        this.#watch = source.watch((reason) => this.notify(reason), logger);
      }
    }
  }

  /**
   * Single-flight. With no refresh running, one starts. With one running, it may already have
   * read the source before this call's change happened, so one more run is queued behind it;
   * every caller until that run starts shares it (and `force` if any asked for it).
   */
  refresh(opts: { force?: boolean } = {}): Promise<RefreshResult> {
    const force = opts.force === true;
    const queued = this.#queued;
    if (queued !== null) {
      queued.force ||= force;
      return queued.promise;
    }
    const running = this.#inFlight;
    if (running === null) return this.#run(force);
    const q: { force: boolean; promise: Promise<RefreshResult> } = { force, promise: null as unknown as Promise<RefreshResult> };
    q.promise = running
      .catch(() => undefined)
      .then(() => {
        this.#queued = null;
        return this.#run(q.force);
      });
    this.#queued = q;
    return q.promise;
  }

  /** An event from the source: refresh once the burst it belongs to is over (debounced). */
  notify(reason: string): void {
    this.stats.events++;
    if (this.#closed) return;
    const now = Date.now();
    this.#burstStart ??= now;
    const debounce = this.#opts.eventDebounceMs ?? 150;
    const maxDelay = this.#opts.eventMaxDelayMs ?? 750;
    const wait = Math.max(0, Math.min(debounce, this.#burstStart + maxDelay - now));
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.#burstStart = null;
      this.#opts.logger.debug({ reason }, 'registry change event');
      this.refresh().catch(() => undefined); // logged by #check
    }, wait);
    this.#debounce.unref();
  }

  #run(force: boolean): Promise<RefreshResult> {
    const p = this.#check(force).finally(() => {
      if (this.#inFlight === p) this.#inFlight = null;
    });
    this.#inFlight = p;
    return p;
  }

  async #check(force: boolean): Promise<RefreshResult> {
    const { source, project, logger } = this.#opts;
    if (this.#closed) {
      if (this.#index !== null) return { index: this.#index, changed: false };
      throw new PlatterError('REGISTRY_UNAVAILABLE', `${source.description}: the registry cache is closed`);
    }
    let token: string | null = null;
    try {
      token = await source.changeToken();
      const current = this.#index;
      if (!force && current !== null && token === this.#token) {
        this.stats.refreshes++;
        this.stats.lastSuccess = new Date();
        return { index: current, changed: false };
      }
      if (!force && this.#failed !== null && this.#failed.token === token) {
        // Still the registry that did not validate: already counted and logged.
        this.stats.refreshes++;
        throw this.#failed.error;
      }
      const t0 = performance.now();
      const loaded = await source.load();
      const next = buildRegistryIndex(loaded.registry, project);
      const loadMs = performance.now() - t0;
      if (next.views.size === 0 && next.services.size === 0 && !next.projects.includes(project)) {
        logger.warn({ project, projects: next.projects }, 'registry holds nothing for the configured project');
      }
      this.#index = next; // the swap
      this.#token = loaded.token ?? token;
      this.#failed = null;
      const now = new Date();
      Object.assign(this.stats, { lastSuccess: now, lastChange: now, lastError: null, lastLoadMs: loadMs });
      this.stats.refreshes++;
      this.stats.swaps++;
      logger.info(
        { generation: next.generation, views: next.views.size, services: next.services.size, loadMs: Math.round(loadMs * 10) / 10, ...diff(current, next) },
        current === null ? 'registry loaded' : 'registry refreshed',
      );
      this.#opts.onSwap?.(next);
      return { index: next, changed: true };
    } catch (err) {
      if (this.#failed !== null && err === this.#failed.error) throw err;
      this.stats.refreshes++;
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      this.stats.lastFailure = new Date();
      // A registry that does not decode or validate stays bad until the source changes; an
      // unreachable source is retried on every trigger.
      if (token !== null && isPlatterError(err) && err.code === 'REGISTRY_INVALID') this.#failed = { token, error: err };
      logger.error(
        { err: (err as Error).message, code: isPlatterError(err) ? err.code : undefined, failures: this.stats.failures },
        this.#index ? 'registry refresh failed; serving the last good registry' : 'registry load failed',
      );
      throw err;
    }
  }

  #schedule(): void {
    const ttl = this.#opts.ttlSeconds;
    if (this.#closed) return;
    // Until the first load succeeds, retry every few seconds even when polling is off.
    const delayMs = this.#index === null ? (this.#opts.retryMs ?? 2000) : ttl > 0 ? ttl * 1000 : 0;
    if (delayMs === 0) return;
    this.#timer = setTimeout(() => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => this.#schedule());
    }, delayMs);
    this.#timer.unref();
  }

  /** Stops the poll and the event subscription and releases the source's connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#debounce) clearTimeout(this.#debounce);
    await this.#watch?.close();
    this.#watch = null;
    await this.#inFlight?.catch(() => undefined);
    await this.#opts.source.close?.();
  }
}

/** Names added to or removed from the served project, for the refresh log line. */
function diff(prev: RegistryIndex | null, next: RegistryIndex): Record<string, string[]> {
  if (prev === null) return {};
  const out: Record<string, string[]> = {};
  const sig = (v: RegistryIndex['views'] extends ReadonlyMap<string, infer V> ? V : never) =>
    `${v.online}|${v.ttlSeconds}|${v.joinKeys.map((k) => `${k.name}:${k.valueType}`).join(',')}|${v.features.map((f) => `${f.name}:${f.valueType}`).join(',')}`;
  const added = [...next.views.keys()].filter((k) => !prev.views.has(k));
  const removed = [...prev.views.keys()].filter((k) => !next.views.has(k));
  const changed = [...next.views.keys()].filter((k) => prev.views.has(k) && sig(prev.views.get(k)!) !== sig(next.views.get(k)!));
  if (added.length) out.viewsAdded = added;
  if (removed.length) out.viewsRemoved = removed;
  if (changed.length) out.viewsChanged = changed;
  const sAdded = [...next.services.keys()].filter((k) => !prev.services.has(k));
  const sRemoved = [...prev.services.keys()].filter((k) => !next.services.has(k));
  if (sAdded.length) out.servicesAdded = sAdded;
  if (sRemoved.length) out.servicesRemoved = sRemoved;
  return out;
}
