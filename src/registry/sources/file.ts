import { readFile, stat } from 'node:fs/promises';
import { PlatterError } from '../../errors.js';
import { decodeRegistry } from './decode.js';
import type { RegistrySource } from './source.js';

/** Feast's file registry on a local path: the bare serialized Registry message. */
export class FileRegistrySource implements RegistrySource {
  readonly description: string;
  readonly #path: string;

  constructor(path: string) {
    this.#path = path;
    this.description = `registry file ${path}`;
  }

  async changeToken(): Promise<string> {
    try {
      const s = await stat(this.#path);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }

  async load(): Promise<Record<string, any>> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.#path);
    } catch (err) {
      throw new PlatterError(
        'REGISTRY_UNAVAILABLE',
        `cannot read ${this.description}: ${(err as Error).message}; run \`feast apply\` in the repo or fix \`registry\` in feature_store.yaml`,
        { cause: err },
      );
    }
    return decodeRegistry(bytes, this.description);
  }
}
