/**
 * Holds the current RegistryIndex and refreshes it off the request path: a poll every
 * `cache_ttl_seconds` (0 = load once, as Feast) that first compares a cheap change token, and a
 * single-flight `refresh()` that events can call. A failed load keeps the last good index.
 */
import type { Logger } from 'pino';
import { PlatterError } from '../errors.js';
import { buildRegistryIndex, type RegistryIndex } from './registry-index.js';
import type { RegistrySource } from './sources/source.js';

export interface RegistryCacheOptions {
  source: RegistrySource;
  project: string;
  /** Poll interval; 0 disables polling. */
  ttlSeconds: number;
  logger: Logger;
  /** Called after every successful swap (plan caches hang off the index, so nothing to drop here). */
  onSwap?: (index: RegistryIndex) => void;
}

export interface RegistryStats {
  lastSuccess: Date | null;
  failures: number;
  lastError: string | null;
}

export class RegistryCache {
  #index: RegistryIndex | null = null;
  #token: string | null = null;
  #inFlight: Promise<RegistryIndex> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #opts: RegistryCacheOptions;
  readonly stats: RegistryStats = { lastSuccess: null, failures: 0, lastError: null };

  constructor(opts: RegistryCacheOptions) {
    this.#opts = opts;
  }

  /** The index to serve, or a typed 503 while no registry has loaded yet. */
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

  /** First load, then the poll. Resolves once loaded; rejects if the first load fails (the poll keeps retrying). */
  async start(): Promise<RegistryIndex> {
    try {
      return await this.refresh({ force: true });
    } finally {
      this.#schedule();
    }
  }

  /** Single-flight: concurrent callers share one load. */
  refresh(opts: { force?: boolean } = {}): Promise<RegistryIndex> {
    if (this.#inFlight) return this.#inFlight;
    const p = this.#load(opts.force === true).finally(() => {
      this.#inFlight = null;
    });
    this.#inFlight = p;
    return p;
  }

  async #load(force: boolean): Promise<RegistryIndex> {
    const { source, project, logger } = this.#opts;
    try {
      const token = await source.changeToken();
      if (!force && this.#index && token === this.#token) return this.#index;
      const decoded = await source.load();
      const next = buildRegistryIndex(decoded, project);
      if (next.views.size === 0 && next.services.size === 0 && !next.projects.includes(project)) {
        logger.warn({ project, projects: next.projects }, 'registry holds nothing for the configured project');
      }
      this.#index = next;
      this.#token = token;
      this.stats.lastSuccess = new Date();
      this.stats.lastError = null;
      logger.info(
        { generation: next.generation, views: next.views.size, services: next.services.size },
        'registry loaded',
      );
      this.#opts.onSwap?.(next);
      return next;
    } catch (err) {
      this.stats.failures++;
      this.stats.lastError = (err as Error).message;
      logger.error({ err }, this.#index ? 'registry refresh failed; serving the last good registry' : 'registry load failed');
      throw err;
    }
  }

  #schedule(): void {
    const ttl = this.#opts.ttlSeconds;
    if (this.#closed) return;
    // Until the first load succeeds, retry every few seconds even when polling is off.
    const delayMs = this.#index === null ? 2000 : ttl > 0 ? ttl * 1000 : 0;
    if (delayMs === 0) return;
    this.#timer = setTimeout(() => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => this.#schedule());
    }, delayMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
