/** Where a serialized Feast registry comes from (file now; SQL and others slot in here). */
export interface RegistrySource {
  /** For logs and errors: e.g. the file path. */
  readonly description: string;
  /**
   * A cheap token that changes when the registry may have changed (file: mtime+size). A refresh
   * whose token equals the last successful one skips the full load.
   */
  changeToken(): Promise<string>;
  /** Load and decode the whole registry (a protobufjs toObject of feast.core.Registry). */
  load(): Promise<Record<string, any>>;
}
