/** Where a serialized Feast registry comes from: a local file or Feast's SQL registry on PostgreSQL. */
import type { Logger } from 'pino';

/** A loaded registry and, when the source can tell, the change token of exactly what was read. */
export interface LoadedRegistry {
  /** A protobufjs toObject of feast.core.Registry with Feast's snake_case names (decode.ts options). */
  readonly registry: Record<string, any>;
  /**
   * The change token of the state `registry` was read from (SQL: read in the same snapshot). When
   * absent, the token from the `changeToken()` call before the load stands for it.
   */
  readonly token?: string;
}

/** A running event subscription (file watch, PostgreSQL LISTEN). */
export interface RegistryWatch {
  close(): Promise<void>;
}

/** What a source reports about its event channel, for logs, metrics and tests. */
export interface RegistryWatchStatus {
  /** `file-watch`, `listen`, or `none`. */
  readonly kind: string;
  /** Whether events can arrive right now (LISTEN connected, watcher open). */
  readonly connected: boolean;
  /** Times the event channel was (re)established. */
  readonly connects: number;
  readonly events: number;
}

export interface RegistrySource {
  /** For logs and errors: e.g. the file path, or the database URL without its password. */
  readonly description: string;
  /**
   * A cheap token that changes when the registry may have changed (file: mtime+size+inode, then a
   * content hash; SQL: a one-query marker over the registry tables). A poll whose token equals
   * the last successful one skips the full load.
   */
  changeToken(): Promise<string>;
  /** Load and decode the whole registry. */
  load(): Promise<LoadedRegistry>;
  /**
   * Start delivering change events (file watch, LISTEN) to `onEvent`. Events are hints: the
   * caller refreshes through the change token, so spurious events cost one cheap check.
   */
  watch?(onEvent: (reason: string) => void, logger: Logger): RegistryWatch;
  readonly watchStatus?: RegistryWatchStatus;
  /** Release connections. */
  close?(): Promise<void>;
}
