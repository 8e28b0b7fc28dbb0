import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { PlatterError } from '../../errors.js';
import { decodeRegistry } from './decode.js';
import type { LoadedRegistry, RegistrySource, RegistryWatch, RegistryWatchStatus } from './source.js';

/** How long a failed directory watch waits before it tries again (the directory may come back). */
const REWATCH_MS = 5000;

/**
 * Feast's file registry on a local path: the bare serialized Registry message
 * (infra/registry/file.py). Change detection is two-step: `stat` (mtime, size, inode) first, and
 * only when that moved, a SHA-256 of the content, so a touch or an identical re-apply does not
 * reload. The bytes hashed are kept for the load that follows.
 */
export class FileRegistrySource implements RegistrySource {
  readonly description: string;
  readonly #path: string;
  #statKey: string | null = null;
  #hash: string | null = null;
  /** Bytes read by the last `changeToken()`, handed to the next `load()`. */
  #pending: { bytes: Buffer; hash: string } | null = null;
  readonly #status = { kind: 'file-watch', connected: false, connects: 0, events: 0 };

  constructor(path: string) {
    this.#path = path;
    this.description = `registry file ${path}`;
  }

  get watchStatus(): RegistryWatchStatus {
    return { ...this.#status };
  }

  async changeToken(): Promise<string> {
    let key: string;
    try {
      const s = await stat(this.#path);
      key = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      this.#statKey = null;
      return 'missing';
    }
    if (key === this.#statKey && this.#hash !== null) {
      this.#pending = null; // a forced load reads the file afresh
      return this.#hash;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path);
    } catch {
      this.#statKey = null;
      return 'unreadable';
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    this.#statKey = key;
    this.#hash = hash;
    this.#pending = { bytes, hash };
    return hash;
  }

  async load(): Promise<LoadedRegistry> {
    let bytes: Buffer;
    let hash: string;
    if (this.#pending !== null) {
      ({ bytes, hash } = this.#pending);
      this.#pending = null;
    } else {
      try {
        bytes = await readFile(this.#path);
      } catch (err) {
        throw new PlatterError(
          'REGISTRY_UNAVAILABLE',
          `cannot read ${this.description}: ${(err as Error).message}; run \`feast apply\` in the repo or fix \`registry\` in feature_store.yaml`,
          { cause: err },
        );
      }
      hash = createHash('sha256').update(bytes).digest('hex');
    }
    // Feast rewrites the file in place (write_bytes): a reader can catch it truncated. Zero bytes
    // decode as a valid, empty Registry, which would drop every view, so refuse them.
    if (bytes.length === 0) {
      throw new PlatterError('REGISTRY_INVALID', `${this.description} is empty (a write in progress, or truncated)`);
    }
    return { registry: decodeRegistry(bytes, this.description), token: hash };
  }

  /**
   * Watches the registry's directory, not the file: `feast apply` may replace the file by a
   * rename (a new inode), which a watch on the old file would never report.
   */
  watch(onEvent: (reason: string) => void, logger: Logger): RegistryWatch {
    const dir = dirname(this.#path);
    const name = basename(this.#path);
    let watcher: FSWatcher | null = null;
    let retry: NodeJS.Timeout | null = null;
    let closed = false;
    const status = this.#status;

    const open = () => {
      retry = null;
      if (closed) return;
      try {
        watcher = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename !== null && filename.toString() !== name) return;
          status.events++;
          onEvent('file-watch');
        });
      } catch (err) {
        logger.warn({ err: (err as Error).message, dir }, 'cannot watch the registry directory; polling only, retrying the watch');
        retry = setTimeout(open, REWATCH_MS).unref();
        return;
      }
      status.connected = true;
      status.connects++;
      watcher.on('error', (err) => {
        status.connected = false;
        logger.warn({ err: err.message, dir }, 'registry directory watch failed; retrying');
        watcher?.close();
        watcher = null;
        if (!closed) retry = setTimeout(open, REWATCH_MS).unref();
      });
      // A watch opened after a change (or re-opened) may have missed it: check once.
      if (status.connects > 1) onEvent('file-watch reopened');
    };
    open();

    return {
      close: async () => {
        closed = true;
        if (retry) clearTimeout(retry);
        watcher?.close();
        watcher = null;
        status.connected = false;
      },
    };
  }
}
